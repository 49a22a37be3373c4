using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using Dapper;

namespace AuthService.Tests.Operations;

/// <summary>The late write routes fail whole (DESIGN §5: never a half-written row). Each change's audit row, its last
/// statement, fails with a transient 40001 as a failover would; the answer must be 503 database_unavailable and the change
/// before it rolled back: bypass-code issue, device revoke and revoke-all, factor rename, support reset, webhook create.</summary>
public class AtomicWriteTests : AppFixture
{
    private async Task<HttpResponseMessage> WithFailingAuditAsync(string eventType, Func<Task<HttpResponseMessage>> send)
    {
        await using var failing = await FailingWrites.OnAsync(App.ConnectionString, "audit_events", $"r.event_type = '{eventType}'");
        return await send();
    }

    private async Task<long> CountAsync(string sql, object args)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, args);
    }

    [Test]
    public async Task Late_write_routes_roll_back_when_their_audit_row_fails()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var u = user.UserId;
        var remembered = await Flows.VerifyAsync(Client, u, new { code = Flows.Code(user.Secret, Now), rememberDevice = new { label = "x" } });
        Assert.That(remembered.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var devices = await (await Client.GetAsync($"/v1/users/{u}/two-factor/devices")).Content.ReadFromJsonAsync<JsonElement>();
        var deviceId = devices.GetProperty("devices")[0].GetProperty("id").GetString();
        var status = await (await Client.GetAsync($"/v1/users/{u}/two-factor")).Content.ReadFromJsonAsync<JsonElement>();
        var factorId = status.GetProperty("factors")[0].GetProperty("id").GetString();

        // Bypass code issue: no live code stored.
        var answer = await WithFailingAuditAsync("bypass_code_issued",
            () => Client.PostAsJsonAsync($"/v1/users/{u}/two-factor/bypass-codes", new { reason = "r", ticket = "t" }));
        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        Assert.That(await CountAsync("select count(*) from bypass_codes where user_id = @u", new { u }), Is.Zero, "bypass code row");

        // Device revoke: still there.
        answer = await WithFailingAuditAsync("devices_revoked", () => Client.DeleteAsync($"/v1/users/{u}/two-factor/devices/{deviceId}"));
        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        answer = await WithFailingAuditAsync("devices_revoked", () => Client.PostAsync($"/v1/users/{u}/two-factor/devices/revoke-all", null));
        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        Assert.That(await CountAsync("select count(*) from remembered_devices where user_id = @u", new { u }), Is.EqualTo(1), "device row");

        // Factor rename: label unchanged.
        answer = await WithFailingAuditAsync("factor_updated",
            () => Client.PatchAsJsonAsync($"/v1/users/{u}/two-factor/factors/{factorId}", new { label = "renamed" }));
        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        status = await (await Client.GetAsync($"/v1/users/{u}/two-factor")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(status.GetProperty("factors")[0].GetProperty("label").GetString(), Is.Not.EqualTo("renamed"));

        // Support reset: factor kept.
        answer = await WithFailingAuditAsync("support_reset",
            () => Client.PostAsJsonAsync($"/v1/users/{u}/two-factor/reset", new { reason = "r", ticket = "t" }));
        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        status = await (await Client.GetAsync($"/v1/users/{u}/two-factor")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(status.GetProperty("enabled").GetBoolean(), Is.True, "reset rolled back");

        // Webhook create: no endpoint row.
        var before = await CountAsync("select count(*) from webhook_endpoints", new { });
        answer = await WithFailingAuditAsync("webhook_endpoint_created",
            () => Client.PostAsJsonAsync("/v1/webhooks", new { url = "https://example.com/atomic", events = new[] { "*" } }));
        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        Assert.That(await CountAsync("select count(*) from webhook_endpoints", new { }), Is.EqualTo(before), "webhook endpoint row");
    }
}
