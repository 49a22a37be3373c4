using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.Events;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Npgsql;
using static AuthService.Tests.Webhooks.WebhookTesting;

namespace AuthService.Tests.Webhooks;

/// <summary>Every event type of DESIGN §8.3 produced by its real action through the API, delivered to a real
/// receiver, and verified there by an independent implementation of the signature.</summary>
public class WebhookEventsTests
{
    private static int _phoneSequence;
    private TelnyxStandIn _telnyx = null!;
    private AuthApp _app = null!;
    private HttpClient _client = null!;
    private WebhookReceiver _receiver = null!;
    private Endpoint _endpoint = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _telnyx = new TelnyxStandIn();
        _app = new AuthApp(new Dictionary<string, string?>(_telnyx.Settings) { ["Limits:LockoutThreshold"] = "3" });
        _client = _app.AdminClient();
        _receiver = await WebhookReceiver.StartAsync();
        _endpoint = await SubscribeAsync(_client, _receiver, "*");
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await DeleteEndpointsAsync(_app.ConnectionString, _endpoint.Id);
        await _receiver.DisposeAsync();
        _client.Dispose();
        _app.Dispose();
        _telnyx.Dispose();
    }

    private async Task<List<ReceivedWebhook>> DeliveredAsync(string userId)
    {
        await DrainAsync(_app);
        var events = For(_receiver, userId);
        Assert.That(events.Select(e => e.SignatureValid), Has.All.True, "every request verifies independently");
        // Every verify without a remembered device also tells two_factor.new_device_login (Devices.DeviceWebhookTests).
        return events.Where(e => e.Type != Api.Events.WebhookEvents.NewDeviceLogin).ToList();
    }

    private static string Code(Flows.EnabledTotpUser user, AuthApp app) => Flows.Code(user.Secret, app.Time.GetUtcNow());

    [Test]
    public async Task Enabling_a_factor_emits_two_factor_enabled_signed_and_without_secrets()
    {
        var user = await Flows.EnableTotpAsync(_app, _client);

        var events = await DeliveredAsync(user.UserId);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "two_factor.enabled" }));
        var e = events[0];
        Assert.Multiple(() =>
        {
            Assert.That(e.Id, Does.Match("^msg_[0-9a-f]{32}$"));
            Assert.That(e.Signature, Does.StartWith("v1,"));
            Assert.That(e.Data.GetProperty("method").GetString(), Is.EqualTo("totp"));
            Assert.That(e.Data.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(10));
            Assert.That(e.Data.TryGetProperty("actingKeyId", out _), Is.True);
            Assert.That(e.Json.GetProperty("timestamp").GetDateTimeOffset(), Is.EqualTo(_app.Time.GetUtcNow().AddSeconds(-30)));
            Assert.That(e.Body, Does.Not.Contain(OtpNet.Base32Encoding.ToString(user.Secret)));
            foreach (var code in user.BackupCodes)
            {
                Assert.That(e.Body, Does.Not.Contain(code));
            }
        });
    }

    [Test]
    public async Task Switching_to_sms_emits_method_switched_with_the_masked_number_only()
    {
        var user = await Flows.EnableTotpAsync(_app, _client);
        var phone = $"+130355590{Interlocked.Increment(ref _phoneSequence) % 100:D2}";
        var start = await _client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { code = Code(user, _app) } });
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await start.Content.ReadAsStringAsync());
        var confirm = await _client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method/confirm",
            new { code = _telnyx.LastCodeTo(phone) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());

        var events = await DeliveredAsync(user.UserId);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "two_factor.enabled", "two_factor.method_switched" }));
        var data = events[1].Data;
        Assert.Multiple(() =>
        {
            Assert.That(data.GetProperty("from").GetString(), Is.EqualTo("totp"));
            Assert.That(data.GetProperty("method").GetString(), Is.EqualTo("phone"));
            Assert.That(data.GetProperty("channel").GetString(), Is.EqualTo("sms"));
            Assert.That(data.GetProperty("phoneNumber").GetString(), Is.EqualTo("+1******" + phone[^4..]));
            Assert.That(events[1].Body, Does.Not.Contain(phone));
            Assert.That(events[1].Body, Does.Not.Contain(_telnyx.LastCodeTo(phone)));
        });
    }

    [Test]
    public async Task Support_reset_emits_reset_with_the_acting_key_reason_and_ticket()
    {
        var user = await Flows.EnableTotpAsync(_app, _client);
        var reset = await _client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/reset", new { reason = "Lost phone", ticket = "SUP-42" });
        Assert.That(reset.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var events = await DeliveredAsync(user.UserId);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "two_factor.enabled", "two_factor.reset" }));
        var data = events[1].Data;
        Assert.That(data.GetProperty("reason").GetString(), Is.EqualTo("Lost phone"));
        Assert.That(data.GetProperty("ticket").GetString(), Is.EqualTo("SUP-42"));
        Assert.That(data.GetProperty("actingKeyId").GetGuid(), Is.Not.EqualTo(Guid.Empty));
    }

    [Test]
    public async Task A_reset_of_a_user_without_2fa_is_audited_and_sends_no_reset()
    {
        // A mistyped user id in the console: nothing of that id's 2FA changed, so the portal gets no notice to pass on.
        var userId = AuthApp.NewUserId();
        var reset = await _client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/reset", new { reason = "Lost phone", ticket = "SUP-43" });
        Assert.That(reset.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await reset.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hadFactor").GetBoolean(), Is.False);

        Assert.That(await DeliveredAsync(userId), Is.Empty);
        var trail = await _client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor/events");
        var audited = trail.GetProperty("items").EnumerateArray().Single();
        Assert.That(audited.GetProperty("type").GetString(), Is.EqualTo("support_reset"));
        Assert.That(audited.GetProperty("details").GetProperty("hadFactor").GetBoolean(), Is.False);
        Assert.That(audited.GetProperty("details").GetProperty("ticket").GetString(), Is.EqualTo("SUP-43"));
    }

    [Test]
    public async Task A_reset_needs_a_reason_and_a_ticket_that_show()
    {
        var user = await Flows.EnableTotpAsync(_app, _client);
        foreach (var body in new object[] { new { reason = "\u200B\u200B", ticket = "SUP-44" }, new { reason = "Lost phone", ticket = "\uFEFF" } })
        {
            await ProblemAssert.IsProblemAsync(await _client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/reset", body),
                HttpStatusCode.BadRequest, "validation_failed");
        }

        Assert.That((await _client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor")).GetProperty("enabled").GetBoolean(), Is.True);
        Assert.That((await DeliveredAsync(user.UserId)).Select(e => e.Type), Is.EqualTo(new[] { "two_factor.enabled" }));
    }

    [Test]
    public async Task Regenerating_and_using_backup_codes_emit_their_events_and_low_at_two_left()
    {
        var user = await Flows.EnableTotpAsync(_app, _client);
        var regenerated = await _client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/backup-codes",
            new { proof = new { code = Code(user, _app) } });
        var fresh = (await regenerated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("backupCodes")
            .EnumerateArray().Select(c => c.GetString()!).ToList();
        foreach (var code in fresh.Take(8))
        {
            (await Flows.VerifyAsync(_client, user.UserId, new { backupCode = code })).EnsureSuccessStatusCode();
        }

        var events = await DeliveredAsync(user.UserId);
        var expected = new List<string> { "two_factor.enabled", "two_factor.backup_codes_regenerated" };
        expected.AddRange(Enumerable.Repeat("two_factor.backup_code_used", 8));
        expected.Add("two_factor.backup_codes_low");
        Assert.That(events.Select(e => e.Type), Is.EqualTo(expected), "in the order the changes committed");
        Assert.That(events[1].Data.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(10));
        Assert.That(events.Where(e => e.Type == "two_factor.backup_code_used").Select(e => e.Data.GetProperty("backupCodesRemaining").GetInt32()),
            Is.EqualTo(new[] { 9, 8, 7, 6, 5, 4, 3, 2 }));
        Assert.That(events[^1].Data.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(2));
        Assert.That(events.Select(e => e.Body), Has.None.Contains(fresh[0]));

        // A code spent on a new set leaves one of the old set, but the user is shown ten: no "running low" with them.
        (await _client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/backup-codes", new { proof = new { backupCode = fresh[8] } }))
            .EnsureSuccessStatusCode();
        Assert.That((await DeliveredAsync(user.UserId)).Skip(events.Count).Select(e => e.Type),
            Is.EqualTo(new[] { "two_factor.backup_code_used", "two_factor.backup_codes_regenerated" }));
    }

    [Test]
    public async Task Lockout_emits_locked()
    {
        var user = await Flows.EnableTotpAsync(_app, _client);
        for (var i = 0; i < 3; i++)
        {
            await Flows.VerifyAsync(_client, user.UserId, new { code = "000000" });
        }

        var events = await DeliveredAsync(user.UserId);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "two_factor.enabled", "two_factor.locked" }));
        Assert.That(events[1].Data.GetProperty("consecutiveFailures").GetInt32(), Is.EqualTo(3));
    }

    [Test]
    public async Task Hitting_the_attempt_limit_emits_one_rate_limited_per_minute()
    {
        var userId = AuthApp.NewUserId();
        await Flows.EnrollTotpAsync(_client, userId);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            statuses.Add((await _client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = "000000" })).StatusCode);
        }

        Assert.That(statuses.Count(s => s == HttpStatusCode.TooManyRequests), Is.EqualTo(3));
        var events = await DeliveredAsync(userId);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "two_factor.rate_limited" }), "three refusals, one event this minute");
        Assert.That(events[0].Data.GetProperty("limit").GetString(), Is.EqualTo("attempts_per_minute"));

        _app.Time.Advance(TimeSpan.FromSeconds(61));
        for (var i = 0; i < 6; i++)
        {
            await _client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = "000000" });
        }

        Assert.That((await DeliveredAsync(userId)).Count(e => e.Type == "two_factor.rate_limited"), Is.EqualTo(2), "a minute later, again");
    }

    [Test]
    public async Task Creating_and_revoking_an_api_key_emit_api_key_events_without_the_key()
    {
        var created = await _client.PostAsJsonAsync("/v1/api-keys", new { name = "hook test", scopes = new[] { "verify" } });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var keyId = body.GetProperty("id").GetGuid();
        (await _client.DeleteAsync($"/v1/api-keys/{keyId}")).EnsureSuccessStatusCode();

        await DrainAsync(_app);
        var events = _receiver.Received.Where(r => r.Data.TryGetProperty("keyId", out var k) && k.GetGuid() == keyId).ToList();
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "api_key.created", "api_key.revoked" }));
        Assert.That(events.Select(e => e.SignatureValid && e.UserId is null), Has.All.True);
        Assert.That(events[0].Data.GetProperty("name").GetString(), Is.EqualTo("hook test"));
        Assert.That(events[0].Body, Does.Not.Contain(body.GetProperty("key").GetString()!));
    }

    [Test]
    public async Task An_endpoint_gets_only_the_events_it_subscribed_to()
    {
        await using var keysOnly = await WebhookReceiver.StartAsync();
        var endpoint = await SubscribeAsync(_client, keysOnly, "api_key.*");
        try
        {
            await Flows.EnableTotpAsync(_app, _client);
            await _client.PostAsJsonAsync("/v1/api-keys", new { name = "pattern test", scopes = new[] { "verify" } });
            await DrainAsync(_app);
            Assert.That(keysOnly.Received.Select(r => r.Type), Is.EqualTo(new[] { "api_key.created" }));
        }
        finally
        {
            await DeleteEndpointsAsync(_app.ConnectionString, endpoint.Id);
        }
    }

    [Test]
    public async Task A_change_that_rolls_back_emits_nothing_and_one_that_commits_emits_its_event()
    {
        var rolledBack = AuthApp.NewUserId();
        var committed = AuthApp.NewUserId();
        await using var connection = new NpgsqlConnection(_app.ConnectionString);
        await connection.OpenAsync();
        foreach (var (userId, commit) in new[] { (rolledBack, false), (committed, true) })
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.SupportReset("r", "t"), _app.Time.GetUtcNow(), null);
            await (commit ? transaction.CommitAsync() : transaction.RollbackAsync());
        }

        await using var count = new NpgsqlCommand("select count(*) from webhook_events where user_id = any(@ids)", connection);
        count.Parameters.AddWithValue("ids", new[] { rolledBack, committed });
        Assert.That(await count.ExecuteScalarAsync(), Is.EqualTo(1L));
        Assert.That(await DeliveredAsync(rolledBack), Is.Empty);
        Assert.That((await DeliveredAsync(committed)).Select(e => e.Type), Is.EqualTo(new[] { "two_factor.reset" }));
    }
}
