using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using OtpNet;
using static AuthService.Tests.Devices.DeviceFlows;

namespace AuthService.Tests.Interactions;

/// <summary>Rules of one feature seen from the others: a lockout reached at a switch confirmation, and what a lock and a reset
/// then do to every other piece of the user's state (devices, bypass and backup codes, pending rows); a bypass code's login and
/// factor removal as a device and the default factor see them.</summary>
public class CrossFeatureTests : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Limits:LockoutThreshold"] = "3" };

    [Test]
    public async Task A_lockout_reached_at_a_switch_confirmation_revokes_devices_blocks_every_proof_kind_and_a_reset_clears_all()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var (token, _) = await RememberAsync(App, Client, user);
        var bypass = await AuthService.Tests.Support.BypassCodeTests.IssueAsync(Client, user.UserId, uses: 2);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"),
            new { method = "totp", accountName = "ann@example.com", proof = new { code = Flows.Code(user.Secret, Now) } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var newSecret = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);

        // Wrong codes at the switch confirmation are failed verifications of a user with 2FA: they lock.
        for (var i = 0; i < 2; i++)
        {
            await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = "000000" }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
        }

        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = "000000" }),
            (HttpStatusCode)423, "locked");
        var decision = await DecideAsync(Client, user.UserId, token);
        Assert.That(decision.GetProperty("locked").GetBoolean(), Is.True);
        Assert.That(Trusted(decision), Is.False, "the lock revoked the device");
        Assert.That(await ListAsync(Client, user.UserId), Is.Empty);
        Assert.That(await EventTypesAsync(Client, user.UserId), Does.Contain("locked"));

        // Every proof kind meets the lock, right or wrong, and nothing is spent.
        App.Time.Advance(TimeSpan.FromSeconds(30));
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(newSecret, Now) }),
            (HttpStatusCode)423, "locked");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) }), (HttpStatusCode)423, "locked");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { backupCode = user.BackupCodes[0] }), (HttpStatusCode)423, "locked");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { bypassCode = bypass }), (HttpStatusCode)423, "locked");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId,
            new { backupCode = user.BackupCodes[0], rememberDevice = new { label = "x" } }), (HttpStatusCode)423, "locked");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { backupCode = user.BackupCodes[1] } }),
            (HttpStatusCode)423, "locked");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "totp", proof = new { bypassCode = bypass } }), (HttpStatusCode)423, "locked");
        await using (var connection = await OpenAsync())
        {
            Assert.That(await connection.ExecuteScalarAsync<int>("select count(*)::int from backup_codes where user_id = @u and used_at is null", new { u = user.UserId }),
                Is.EqualTo(user.BackupCodes.Count));
            Assert.That(await connection.ExecuteScalarAsync<int>("select uses_left from bypass_codes where user_id = @u", new { u = user.UserId }), Is.EqualTo(2));
        }

        // The reset clears the lock, the pending switch, the bypass code, the backup codes; the user enrolls afresh.
        (await Client.PostAsJsonAsync(Url(user.UserId, "/reset"), new { reason = "locked", ticket = "T-9" })).EnsureSuccessStatusCode();
        var status = await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId));
        Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(status.GetProperty("locked").GetBoolean(), Is.False);
        await using (var connection = await OpenAsync())
        {
            foreach (var table in new[] { "bypass_codes", "backup_codes", "pending_factors", "remembered_devices", "phone_codes", "passkey_challenges", "idempotency_keys", "verification_failures" })
            {
                Assert.That(await connection.ExecuteScalarAsync<int>($"select count(*)::int from {table} where user_id = @u", new { u = user.UserId }), Is.Zero, table);
            }
        }

        App.Time.Advance(TimeSpan.FromSeconds(30));
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(newSecret, Now) }),
            HttpStatusCode.Conflict, "no_pending_switch");
        var again = await Flows.EnableTotpAsync(App, Client, user.UserId);
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { bypassCode = bypass }), HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { backupCode = user.BackupCodes[0] }), HttpStatusCode.UnprocessableEntity, "invalid_code");
        App.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(again.Secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_bypass_login_is_a_new_device_login_and_a_bypass_removal_of_the_default_moves_the_default_and_revokes_devices()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var added = await Client.PostAsJsonAsync(Url(user.UserId, "/factors"), new { method = "totp", proof = new { code = Flows.Code(user.Secret, Now) } });
        var body = await added.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var secondId = body.GetProperty("factorId").GetGuid();
        var second = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.That((await Client.PostAsJsonAsync(Url(user.UserId, $"/factors/{secondId}/confirm"), new { code = Flows.Code(second, Now) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
        var (token, _) = await RememberAsync(App, Client, user);

        var bypass = await AuthService.Tests.Support.BypassCodeTests.IssueAsync(Client, user.UserId, uses: 2);
        var login = await Flows.VerifyAsync(Client, user.UserId, new { bypassCode = bypass, deviceToken = token });
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK), await login.Content.ReadAsStringAsync());
        var types = await EventTypesAsync(Client, user.UserId);
        Assert.That(types[0], Is.EqualTo("bypass_code_used"), string.Join(",", types));
        var fresh = await Flows.VerifyAsync(Client, user.UserId, new { bypassCode = bypass });
        Assert.That(fresh.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        types = await EventTypesAsync(Client, user.UserId);
        Assert.That(types.Take(2), Is.EquivalentTo(new[] { "bypass_code_used", "new_device_login" }), string.Join(",", types));

        var status = await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId));
        var defaultId = status.GetProperty("factors").EnumerateArray().Single(f => f.GetProperty("default").GetBoolean()).GetProperty("id").GetGuid();
        var bypass2 = await AuthService.Tests.Support.BypassCodeTests.IssueAsync(Client, user.UserId, ticket: "SUP-2");
        var remove = new HttpRequestMessage(HttpMethod.Delete, Url(user.UserId, $"/factors/{defaultId}"))
        {
            Content = JsonContent.Create(new { proof = new { bypassCode = bypass2 } }),
        };
        Assert.That((await Client.SendAsync(remove)).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        status = await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId));
        Assert.That(status.GetProperty("factors").EnumerateArray().Single().GetProperty("default").GetBoolean(), Is.True);
        Assert.That(Trusted(await DecideAsync(Client, user.UserId, token)), Is.False);
        var last = status.GetProperty("factors").EnumerateArray().Single().GetProperty("id").GetGuid();
        var bypass3 = await AuthService.Tests.Support.BypassCodeTests.IssueAsync(Client, user.UserId, ticket: "SUP-3");
        var removeLast = new HttpRequestMessage(HttpMethod.Delete, Url(user.UserId, $"/factors/{last}"))
        {
            Content = JsonContent.Create(new { proof = new { bypassCode = bypass3 } }),
        };
        await ProblemAssert.IsProblemAsync(await Client.SendAsync(removeLast), HttpStatusCode.Conflict, "last_factor");
        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<int>("select uses_left from bypass_codes where user_id = @u and ticket = 'SUP-3'", new { u = user.UserId }),
            Is.EqualTo(1), "the refused last-factor removal spent nothing");
    }
}
