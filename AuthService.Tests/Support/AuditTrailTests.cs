using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Support;

public class AuditTrailTests
{
    [Test]
    public async Task A_whole_lifecycle_leaves_the_expected_events_and_no_secret()
    {
        using var telnyx = new TelnyxStandIn();
        using var app = new AuthApp(telnyx.Settings);
        using var admin = app.AdminClient();
        var userId = AuthApp.NewUserId("audit");
        var secrets = new List<string>();

        // Skip the prompt, then enroll TOTP, fail, verify, hit the limit, use a backup code, switch to phone, reset.
        (await admin.PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null)).EnsureSuccessStatusCode();
        var user = await Flows.EnableTotpAsync(app, admin, userId);
        secrets.Add(OtpNet.Base32Encoding.ToString(user.Secret).TrimEnd('='));
        secrets.AddRange(user.BackupCodes);
        for (var i = 0; i < 6; i++)
        {
            await Flows.VerifyAsync(admin, userId, new { code = "000000" });
        }

        app.Time.Advance(TimeSpan.FromMinutes(2));
        var code = Flows.Code(user.Secret, app.Time.GetUtcNow());
        secrets.Add(code);
        (await Flows.VerifyAsync(admin, userId, new { code })).EnsureSuccessStatusCode();
        (await Flows.VerifyAsync(admin, userId, new { backupCode = user.BackupCodes[0] })).EnsureSuccessStatusCode();
        const string phone = "+13035559876";
        (await admin.PostAsJsonAsync($"/v1/users/{userId}/two-factor/switch-method",
            new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { backupCode = user.BackupCodes[1] } })).EnsureSuccessStatusCode();
        var phoneCode = telnyx.LastCodeTo(phone);
        secrets.Add(phoneCode);
        secrets.Add(phone);
        secrets.Add(phone[1..]);
        (await admin.PostAsJsonAsync($"/v1/users/{userId}/two-factor/switch-method/confirm", new { code = phoneCode })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync($"/v1/users/{userId}/two-factor/reset", new { reason = "lost phone", ticket = "SUP-77" })).EnsureSuccessStatusCode();

        var events = new List<JsonElement>();
        long? before = null;
        do
        {
            var page = await admin.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor/events?limit=5" + (before is null ? "" : $"&before={before}"));
            events.AddRange(page.GetProperty("items").EnumerateArray());
            before = page.GetProperty("nextBefore").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextBefore").GetInt64();
        }
        while (before is not null);

        var types = events.Select(e => e.GetProperty("type").GetString()).ToList();
        var ids = events.Select(e => e.GetProperty("id").GetInt64()).ToList();
        Assert.That(ids, Is.Ordered.Descending, "newest first");
        Assert.That(ids.Distinct().Count(), Is.EqualTo(ids.Count), "pages do not overlap");
        Assert.That(types, Is.SupersetOf(new[]
        {
            "prompt_skipped", "enrollment_started", "enrollment_confirmed", "verification_failed", "rate_limited",
            "verification_succeeded", "backup_code_used", "method_switch_started", "code_sent", "method_switched", "support_reset",
        }));
        Assert.That(types[0], Is.EqualTo("support_reset"));
        var reset = events[0];
        Assert.That(reset.GetProperty("details").GetProperty("ticket").GetString(), Is.EqualTo("SUP-77"));
        Assert.That(reset.GetProperty("details").GetProperty("reason").GetString(), Is.EqualTo("lost phone"));
        Assert.That(reset.GetProperty("apiKeyId").ValueKind, Is.EqualTo(JsonValueKind.String), "the acting key is recorded");
        var sent = events.First(e => e.GetProperty("type").GetString() == "code_sent").GetProperty("details");
        Assert.That(sent.GetProperty("phoneNumber").GetString(), Is.EqualTo("+1******9876"));
        Assert.That(sent.GetProperty("providerMessageId").GetString(), Does.StartWith("msg-"));

        var all = string.Join("\n", events.Select(e => e.GetRawText()));
        Assert.Multiple(() =>
        {
            foreach (var secret in secrets)
            {
                Assert.That(all, Does.Not.Contain(secret), "an audit event holds a secret");
            }
        });
    }

    [Test]
    public async Task Events_paging_is_validated()
    {
        using var app = new AuthApp();
        using var admin = app.AdminClient();
        await ProblemAssert.IsProblemAsync(await admin.GetAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/events?limit=0"),
            HttpStatusCode.BadRequest, "validation_failed");
        await ProblemAssert.IsProblemAsync(await admin.GetAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/events?limit=abc"),
            HttpStatusCode.BadRequest, "invalid_parameter");
    }

    [Test]
    public async Task Api_key_creation_and_revocation_are_audited()
    {
        using var app = new AuthApp();
        using var admin = app.AdminClient();
        var created = await (await admin.PostAsJsonAsync("/v1/api-keys", new { name = "portal", scopes = new[] { "verify" } }))
            .Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetString();
        (await admin.DeleteAsync($"/v1/api-keys/{id}")).EnsureSuccessStatusCode();

        await using var connection = new Npgsql.NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "select string_agg(event_type || ':' || details::text, ' ') from audit_events where details->>'keyId' = @id", connection);
        command.Parameters.AddWithValue("id", id!);
        var text = (string)(await command.ExecuteScalarAsync())!;
        Assert.That(text, Does.Contain("api_key_created").And.Contain("api_key_revoked"));
        Assert.That(text, Does.Not.Contain(created.GetProperty("key").GetString()!));
    }

    /// <summary>A bootstrap admin key is a new admin credential like any other: its creation is audited and announced once,
    /// however many instances start with it.</summary>
    [Test]
    public async Task A_new_bootstrap_admin_key_is_audited_and_announced_once()
    {
        using var app = new AuthApp();
        using var admin = app.AdminClient();
        var endpoint = await (await admin.PostAsJsonAsync("/v1/webhooks", new { url = "https://receiver.example/hooks", events = new[] { "api_key.*" } }))
            .Content.ReadFromJsonAsync<JsonElement>();
        var key = AuthService.Core.Security.ApiKeyTokens.Generate();
        var settings = new Dictionary<string, string?> { ["Auth:BootstrapAdminKey"] = key };
        using (var first = new AuthApp(settings))
        using (var second = new AuthApp(settings))
        {
            using var client = first.ClientWithKey(key);
            (await client.GetAsync("/v1/api-keys")).EnsureSuccessStatusCode();
            using var again = second.ClientWithKey(key);
            (await again.GetAsync("/v1/api-keys")).EnsureSuccessStatusCode();
        }

        await using var connection = new Npgsql.NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        var keyId = await Dapper.SqlMapper.QuerySingleAsync<Guid>(connection, "select id from api_keys where key_hash = @hash",
            new { hash = AuthService.Core.Security.ApiKeyTokens.Hash(key) });
        var audited = await Dapper.SqlMapper.QuerySingleAsync<(long Count, string? ActingKey)>(connection,
            "select count(*), min(api_key_id::text) from audit_events where event_type = 'api_key_created' and details->>'keyId' = @id",
            new { id = keyId.ToString() });
        Assert.That(audited.Count, Is.EqualTo(1), "audited once");
        Assert.That(audited.ActingKey, Is.Null, "no key acted: the configuration did");
        var announced = await Dapper.SqlMapper.QuerySingleAsync<long>(connection, """
            select count(*) from webhook_deliveries d join webhook_events e on e.id = d.event_id
            where d.endpoint_id = @endpoint and e.body::jsonb->>'type' = 'api_key.created' and e.body::jsonb->'data'->>'keyId' = @id
            """, new { endpoint = endpoint.GetProperty("id").GetGuid(), id = keyId.ToString() });
        Assert.That(announced, Is.EqualTo(1), "announced once to the subscribed endpoint");
        (await admin.DeleteAsync($"/v1/webhooks/{endpoint.GetProperty("id").GetGuid()}")).EnsureSuccessStatusCode(); // the database is shared
    }
}
