using AuthService.Api.Events;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuthService.Api.Hosting;
using AuthService.Api.Operations;
using AuthService.Api.Storage;
using AuthService.Api.Webhooks;
using AuthService.Core.BackupCodes;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AuthService.Tests.Operations;

/// <summary>Upgrade without loss (issue 22): a database exactly as the release with migrations 0001–0007 leaves it — its
/// schema, and its rows as that release's code writes them (<see cref="Release7Rows"/>, a frozen copy of those writes in
/// plain SQL) — is migrated in place by the service of this build, and every user then goes on as before, checked only
/// through the HTTP API. Nothing here reads the schema after the upgrade, so a migration may reshape the tables freely;
/// what it may not do is lose or break a user, a pending enrollment or switch, a backup code, a lockout, the audit trail,
/// a webhook delivery or an API key. The app's clock stands still at <see cref="AuthApp.Time"/>'s start unless a test
/// says otherwise, so the rows' times are relative to it.</summary>
[Category("Upgrade")]
public sealed class UpgradeTests
{
    /// <summary>The last migration of the release whose database this test rebuilds.</summary>
    private const int OldRelease = 7;

    private const int MaxSkips = 3;

    private string _connectionString = null!;
    private int _appliedBefore;
    private TelnyxStandIn _telnyx = null!;
    private WebhookReceiver _receiver = null!;
    private AuthApp _app = null!;
    private HttpClient _admin = null!;
    private Release7Rows.Written _old = null!;

    /// <summary>What the API answered first, before any test acted: the status and login decision of every user.</summary>
    private readonly Dictionary<string, (JsonElement Status, JsonElement Decision)> _firstLook = new(StringComparer.Ordinal);

    private DateTimeOffset Now => _app.Time.GetUtcNow();

    [OneTimeSetUp]
    public async Task BuildTheOldDatabaseAndUpgradeIt()
    {
        _connectionString = TestDatabase.CreateDatabase("upgrade");
        await using (var dataSource = NewDataSource())
        {
            _appliedBefore = await Runner(dataSource).ApplyAsync(OldRelease);
        }

        _telnyx = new TelnyxStandIn();
        _receiver = await WebhookReceiver.StartAsync();
        var settings = new Dictionary<string, string?>(_telnyx.Settings)
        {
            ["Passkeys:RelyingPartyId"] = PasskeyFixture.RpId,
            ["Passkeys:RelyingPartyName"] = "Example Portal",
            ["Passkeys:Origins:0"] = PasskeyFixture.Origin,
            ["Enforcement:MaxSkips"] = MaxSkips.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        _app = new AuthApp(settings, _connectionString); // not started yet: the host starts (and migrates) on first use

        // The same key ring the upgraded service runs with (AuthApp: active key k1).
        var secrets = new SecretBox(new Dictionary<string, byte[]> { ["k1"] = Convert.FromBase64String(AuthApp.EncryptionKey) }, "k1");
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync();
            _old = await new Release7Rows(connection, secrets).WriteAsync(Now, _receiver.Url);
        }

        _receiver.Secret = _old.WebhookSecret;

        _admin = StartService();
        foreach (var userId in _old.Users)
        {
            var status = await JsonAsync(await _admin.GetAsync($"/v1/users/{userId}/two-factor"), HttpStatusCode.OK);
            var decision = await JsonAsync(await _admin.PostAsJsonAsync("/v1/login-decisions", new { userId, loginMethod = "password" }),
                HttpStatusCode.OK);
            _firstLook[userId] = (status, decision);
        }
    }

    /// <summary>Starts the service, which migrates the old database to the latest. A refusal to start (Program prints
    /// "AuthService cannot start: …" and exits) is turned into a failure that says why.</summary>
    private HttpClient StartService()
    {
        var previous = Console.Error;
        using var error = new StringWriter();
        Console.SetError(error);
        try
        {
            return _app.AdminClient();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"The service did not start on the database of migrations 0001–{OldRelease:D4}: {error}", e);
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _admin?.Dispose();
        _app?.Dispose();
        _telnyx?.Dispose();
        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }

    [Test]
    public async Task The_old_database_is_migrated_to_the_latest_and_migrating_again_applies_nothing()
    {
        Assert.That(_appliedBefore, Is.EqualTo(OldRelease), "the old database is built from migrations 0001–0007");
        var expected = MigrationRunner.Migrations.Select(m => m.Version).ToList();
        Assert.That(await AppliedVersionsAsync(), Is.EqualTo(expected), "the service applied every later migration at start");

        await using (var dataSource = NewDataSource())
        {
            Assert.That(await Runner(dataSource).ApplyAsync(), Is.Zero, "a second run of the migrations applies nothing");
        }

        Assert.That(await AppliedVersionsAsync(), Is.EqualTo(expected));
        var ready = await _admin.GetAsync("/health/ready");
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ready.Content.ReadAsStringAsync());
        var status = await JsonAsync(await _admin.GetAsync($"/v1/users/{_old.Totp.UserId}/two-factor"), HttpStatusCode.OK);
        Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("totp"), "the TOTP user after the second run");
    }

    [Test]
    public void Status_and_login_decision_answer_every_user_as_before_the_upgrade()
    {
        Assert.Multiple(() =>
        {
            ExpectStatus(_old.Totp.UserId, "totp", null, _old.Totp.EnabledAt, _old.Totp.BackupCodesLeft, locked: false);
            ExpectStatus(_old.Phone.UserId, "phone", PhoneNumbers.Mask(_old.Phone.E164), _old.Phone.EnabledAt, _old.Phone.BackupCodesLeft, locked: false);
            ExpectStatus(_old.Passkey.UserId, "passkey", null, _old.Passkey.EnabledAt, _old.Passkey.BackupCodesLeft, locked: false);
            ExpectStatus(_old.Switching.UserId, "totp", null, _old.Switching.EnabledAt, _old.Switching.BackupCodesLeft, locked: false,
                ("switch", "phone", "sms", _old.Switching.PendingExpiresAt));
            ExpectStatus(_old.Locked.UserId, "totp", null, _old.Locked.EnabledAt, _old.Locked.BackupCodesLeft, locked: true);
            ExpectStatus(_old.Enrolling.UserId, null, null, null, 0, locked: false, ("enroll", "totp", null, _old.Enrolling.ExpiresAt));
            ExpectStatus(_old.PromptUserId, null, null, null, 0, locked: false);
            ExpectStatus(_old.SmsInFlight.UserId, "phone", PhoneNumbers.Mask(_old.SmsInFlight.E164), _old.Phone.EnabledAt, 10, locked: false);
            ExpectStatus(_old.PasskeyInFlight.UserId, "passkey", null, _old.Passkey.EnabledAt, 10, locked: false);

            foreach (var (userId, method) in new[]
                     {
                         (_old.Totp.UserId, "totp"), (_old.Phone.UserId, "phone"), (_old.Passkey.UserId, "passkey"),
                         (_old.Switching.UserId, "totp"), (_old.Locked.UserId, "totp"),
                     })
            {
                var decision = _firstLook[userId].Decision;
                Assert.That(decision.GetProperty("action").GetString(), Is.EqualTo("verify"), $"login decision of {userId}: {decision}");
                Assert.That(decision.GetProperty("method").GetString(), Is.EqualTo(method), $"login decision of {userId}: {decision}");
                Assert.That(decision.GetProperty("locked").GetBoolean(), Is.EqualTo(userId == _old.Locked.UserId), $"login decision of {userId}: {decision}");
            }

            var prompt = _firstLook[_old.PromptUserId].Decision;
            Assert.That(prompt.GetProperty("action").GetString(), Is.EqualTo("enroll_prompt"), prompt.ToString());
            Assert.That(prompt.GetProperty("canSkip").GetBoolean(), Is.True, $"{Release7Rows.PromptSkips} of {MaxSkips} skips used: {prompt}");
        });
    }

    [Test]
    public async Task Each_user_s_factor_becomes_its_only_factor_the_default_labelled_after_its_method()
    {
        foreach (var (userId, method, label) in new[]
                 {
                     (_old.Totp.UserId, "totp", "Authenticator app"), (_old.Phone.UserId, "phone", "Phone " + PhoneNumbers.Mask(_old.Phone.E164)),
                     (_old.Passkey.UserId, "passkey", "Passkey"), (_old.Locked.UserId, "totp", "Authenticator app"),
                 })
        {
            var status = await JsonAsync(await _admin.GetAsync($"/v1/users/{userId}/two-factor"), HttpStatusCode.OK);
            var factors = status.GetProperty("factors").EnumerateArray().ToList();
            Assert.That(factors, Has.Count.EqualTo(1), $"{userId}: {status}");
            Assert.That(factors[0].GetProperty("method").GetString(), Is.EqualTo(method));
            Assert.That(factors[0].GetProperty("label").GetString(), Is.EqualTo(label));
            Assert.That(factors[0].GetProperty("default").GetBoolean(), Is.True);
            Assert.That(factors[0].GetProperty("createdAt").GetDateTimeOffset(), Is.EqualTo(status.GetProperty("enabledAt").GetDateTimeOffset()));
        }
    }

    [Test]
    public async Task Totp_user_logs_in_with_a_current_code_and_the_step_used_before_the_upgrade_stays_used()
    {
        var user = _old.Totp;
        var earlier = Flows.Code(user.Secret, Now.AddSeconds(-30)); // the step last accepted before the upgrade (last_totp_step)
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(_admin, user.UserId, new { code = earlier }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");

        var current = Flows.Code(user.Secret, Now);
        var verified = await JsonAsync(await Flows.VerifyAsync(_admin, user.UserId, new { code = current }), HttpStatusCode.OK,
            "the TOTP factor written before the upgrade must accept a current code");
        Assert.Multiple(() =>
        {
            Assert.That(verified.GetProperty("method").GetString(), Is.EqualTo("totp"));
            Assert.That(verified.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(user.BackupCodesLeft));
        });

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(_admin, user.UserId, new { code = current }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Backup_codes_written_before_the_upgrade_work_once_and_used_ones_stay_used()
    {
        var user = _old.Phone;
        var fresh = await JsonAsync(await Flows.VerifyAsync(_admin, user.UserId, new { backupCode = user.UnusedCode }), HttpStatusCode.OK,
            "an unused backup code written before the upgrade must work");
        Assert.That(fresh.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(user.BackupCodesLeft - 1), "backup codes left after one use");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(_admin, user.UserId, new { backupCode = user.UnusedCode }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(_admin, user.UserId, new { backupCode = user.UsedCode }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");

        var oldCost = await JsonAsync(await Flows.VerifyAsync(_admin, user.UserId, new { backupCode = user.OldCostCode }), HttpStatusCode.OK,
            $"a backup code hashed with {Release7Rows.OldIterations} PBKDF2 iterations (before 0002) must still work");
        Assert.That(oldCost.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(user.BackupCodesLeft - 2), "backup codes left after two uses");
    }

    [Test]
    public async Task Phone_user_gets_an_sms_code_and_logs_in_with_it()
    {
        var user = _old.Phone;
        var sent = await JsonAsync(await _admin.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms" }),
            HttpStatusCode.Accepted, "the phone factor written before the upgrade must get an SMS challenge");
        Assert.That(sent.GetProperty("phoneNumber").GetString(), Is.EqualTo(PhoneNumbers.Mask(user.E164)));

        var verified = await JsonAsync(await Flows.VerifyAsync(_admin, user.UserId, new { code = _telnyx.LastCodeTo(user.E164) }),
            HttpStatusCode.OK, "the SMS code sent to the number sealed before the upgrade must verify");
        Assert.That(verified.GetProperty("method").GetString(), Is.EqualTo("phone"));
    }

    [Test]
    public async Task Passkey_user_gets_a_challenge_for_the_stored_credential_and_logs_in_with_it()
    {
        var user = _old.Passkey;
        var options = await PasskeyChallengeAsync(user.UserId);
        var listed = options.GetProperty("allowCredentials").EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
        Assert.That(listed, Is.EqualTo(new[] { user.Authenticator.Id }), "the challenge lists the credential registered before the upgrade");

        // The signature counter survived too: an assertion carrying a counter below the stored one is a possible clone.
        user.Authenticator.SignCount = (uint)Release7Rows.PasskeySignCount - 2;
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(_admin, user.UserId, new { credential = user.Authenticator.Assert(options) }),
            HttpStatusCode.UnprocessableEntity, "passkey_counter_regression");

        user.Authenticator.SignCount = (uint)Release7Rows.PasskeySignCount;
        var again = await PasskeyChallengeAsync(user.UserId);
        var verified = await JsonAsync(await Flows.VerifyAsync(_admin, user.UserId, new { credential = user.Authenticator.Assert(again) }),
            HttpStatusCode.OK, "an assertion of the passkey registered before the upgrade must verify");
        Assert.That(verified.GetProperty("method").GetString(), Is.EqualTo("passkey"));
    }

    [Test]
    public async Task Login_proofs_issued_just_before_the_upgrade_are_accepted_just_after_it()
    {
        var sms = _old.SmsInFlight;
        var bySms = await JsonAsync(await Flows.VerifyAsync(_admin, sms.UserId, new { code = sms.Code }), HttpStatusCode.OK,
            "the SMS login code sent before the upgrade (phone_codes, bound to the factor) must verify after it");
        Assert.That(bySms.GetProperty("method").GetString(), Is.EqualTo("phone"));

        var passkey = _old.PasskeyInFlight;
        using var options = JsonDocument.Parse(JsonSerializer.Serialize(new { challenge = passkey.Challenge }));
        var byPasskey = await JsonAsync(await Flows.VerifyAsync(_admin, passkey.UserId, new { credential = passkey.Authenticator!.Assert(options.RootElement) }),
            HttpStatusCode.OK, "the passkey login challenge issued before the upgrade (passkey_challenges, bound to the factor) must verify after it");
        Assert.That(byPasskey.GetProperty("method").GetString(), Is.EqualTo("passkey"));
    }

    [Test]
    public async Task Pending_totp_enrollment_started_before_the_upgrade_confirms_with_its_code()
    {
        var user = _old.Enrolling;
        var confirmed = await JsonAsync(await _admin.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/enroll/confirm",
            new { code = Flows.Code(user.Secret, Now) }), HttpStatusCode.OK, "the pending enrollment written before the upgrade must confirm");
        Assert.That(confirmed.GetProperty("backupCodes").GetArrayLength(), Is.EqualTo(BackupCodeSet.DefaultCount));

        var status = await JsonAsync(await _admin.GetAsync($"/v1/users/{user.UserId}/two-factor"), HttpStatusCode.OK);
        Assert.Multiple(() =>
        {
            Assert.That(status.GetProperty("enabled").GetBoolean(), Is.True, status.ToString());
            Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("totp"), status.ToString());
            Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null), status.ToString());
        });
    }

    [Test]
    public async Task Pending_switch_to_phone_started_before_the_upgrade_confirms_with_the_code_sent_then()
    {
        var user = _old.Switching;
        var switched = await JsonAsync(await _admin.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method/confirm",
            new { code = user.PendingCode }), HttpStatusCode.OK, "the pending switch (and its code) written before the upgrade must confirm");
        Assert.That(switched.GetProperty("method").GetString(), Is.EqualTo("phone"));

        var status = await JsonAsync(await _admin.GetAsync($"/v1/users/{user.UserId}/two-factor"), HttpStatusCode.OK);
        Assert.Multiple(() =>
        {
            Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("phone"), status.ToString());
            Assert.That(status.GetProperty("phoneNumber").GetString(), Is.EqualTo(PhoneNumbers.Mask(user.E164)), status.ToString());
            Assert.That(status.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(user.BackupCodesLeft), "a switch keeps the backup codes");
            Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null), status.ToString());
        });

        // The confirmed switch replaced the TOTP factor, as it did before the upgrade.
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(_admin, user.UserId, new { code = Flows.Code(user.Secret, Now) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Locked_user_stays_locked()
    {
        var user = _old.Locked;
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(_admin, user.UserId, new { code = Flows.Code(user.Secret, Now) }),
            (HttpStatusCode)423, "locked");
        var status = await JsonAsync(await _admin.GetAsync($"/v1/users/{user.UserId}/two-factor"), HttpStatusCode.OK);
        Assert.That(status.GetProperty("locked").GetBoolean(), Is.True, "the lockout written before the upgrade holds: " + status);
    }

    [Test]
    public async Task Prompt_skips_counted_before_the_upgrade_still_count()
    {
        var skipped = await JsonAsync(await _admin.PostAsync($"/v1/users/{_old.PromptUserId}/two-factor/prompt/skip", null), HttpStatusCode.OK);
        Assert.Multiple(() =>
        {
            Assert.That(skipped.GetProperty("skips").GetInt32(), Is.EqualTo(Release7Rows.PromptSkips + 1), skipped.ToString());
            Assert.That(skipped.GetProperty("canSkipAgain").GetBoolean(), Is.False, skipped.ToString());
        });
        await ProblemAssert.IsProblemAsync(await _admin.PostAsync($"/v1/users/{_old.PromptUserId}/two-factor/prompt/skip", null),
            HttpStatusCode.Conflict, "skip_not_allowed");
    }

    [Test]
    public async Task Audit_trail_keeps_every_event_written_before_the_upgrade()
    {
        var problems = new List<string>();
        foreach (var written in _old.Audit.GroupBy(a => a.UserId!))
        {
            var userId = written.Key;
            var page = await JsonAsync(await _admin.GetAsync($"/v1/users/{userId}/two-factor/events?limit=200"), HttpStatusCode.OK);
            var items = page.GetProperty("items").EnumerateArray().ToDictionary(e => e.GetProperty("id").GetInt64());
            var kept = items.Keys.Count(id => id <= _old.LastAuditId);
            if (kept != written.Count())
            {
                problems.Add($"{userId}: {kept} of the {written.Count()} events written before the upgrade are listed");
            }

            foreach (var old in written)
            {
                if (!items.TryGetValue(old.Id, out var item))
                {
                    problems.Add($"{userId}: event {old.Id} ({old.Type}) is gone");
                    continue;
                }

                var apiKeyId = item.GetProperty("apiKeyId").ValueKind == JsonValueKind.Null ? (Guid?)null : item.GetProperty("apiKeyId").GetGuid();
                if (item.GetProperty("type").GetString() != old.Type || item.GetProperty("occurredAt").GetDateTimeOffset() != old.At ||
                    apiKeyId != old.ApiKeyId || !JsonElement.DeepEquals(item.GetProperty("details"), JsonDocument.Parse(old.Details).RootElement))
                {
                    problems.Add($"{userId}: event {old.Id} was {old.Type} at {old.At:O} by {old.ApiKeyId} with {old.Details}, is now {item}");
                }
            }
        }

        Assert.That(problems, Is.Empty, $"audit trail after the upgrade ({_old.Audit.Count} events of {_old.Audit.Select(a => a.UserId).Distinct().Count()} users written before it)");
    }

    [Test]
    public async Task Webhook_endpoint_keeps_its_deliveries_and_sends_the_pending_one_signed_with_its_old_secret()
    {
        var endpoint = _old.Endpoint;
        var listed = await JsonAsync(await _admin.GetAsync($"/v1/webhooks/{endpoint}"), HttpStatusCode.OK);
        Assert.That(listed.GetProperty("url").GetString(), Is.EqualTo(_receiver.Url));

        var before = await DeliveriesAsync(endpoint);
        Assert.That(_old.Deliveries.Where(d => !before.ContainsKey(d.Id)).Select(d => $"{d.Id} ({d.Type}, {d.Status})"), Is.Empty,
            "webhook deliveries lost in the upgrade");
        Assert.Multiple(() =>
        {
            foreach (var old in _old.Deliveries)
            {
                var row = before[old.Id];
                Assert.That(row.GetProperty("status").GetString(), Is.EqualTo(old.Status), $"delivery {old.Id}: {row}");
                Assert.That(row.GetProperty("type").GetString(), Is.EqualTo(old.Type), $"delivery {old.Id}: {row}");
                Assert.That(row.GetProperty("userId").GetString(), Is.EqualTo(old.UserId), $"delivery {old.Id}: {row}");
                Assert.That(row.GetProperty("webhookId").GetString(), Is.EqualTo(WebhookEvent.MessageId(old.EventId)), $"delivery {old.Id}: {row}");
            }
        });

        await WebhookTesting.DrainAsync(_app);
        var pending = _old.Deliveries.Single(d => d.Status == "pending");
        var received = _receiver.Received.Where(r => r.Id == WebhookEvent.MessageId(pending.EventId)).ToList();
        Assert.That(received, Is.Not.Empty, "the delivery pending before the upgrade is sent after it");
        Assert.Multiple(() =>
        {
            Assert.That(received[0].SignatureValid, Is.True, "signed with the secret sealed before the upgrade");
            Assert.That(received[0].Body, Is.EqualTo(pending.Body), "the body exactly as stored before the upgrade");
        });
        Assert.That(_receiver.Received.Any(r => r.Id == WebhookEvent.MessageId(_old.Deliveries.Single(d => d.Status == "delivered").EventId)),
            Is.False, "a delivery delivered before the upgrade is not sent again");
        Assert.That((await DeliveriesAsync(endpoint))[pending.Id].GetProperty("status").GetString(), Is.EqualTo("delivered"));
    }

    [Test]
    public async Task Api_keys_created_before_the_upgrade_still_authenticate_with_their_scopes_and_a_revoked_one_stays_revoked()
    {
        using var verify = _app.ClientWithKey(_old.VerifyKey);
        var status = await verify.GetAsync($"/v1/users/{_old.Totp.UserId}/two-factor");
        Assert.That(status.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the verify key written before the upgrade: " + await status.Content.ReadAsStringAsync());
        var manage = await verify.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/enroll", new { method = "totp" });
        Assert.That(manage.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "the verify key keeps only its scope");

        using var revoked = _app.ClientWithKey(_old.RevokedKey);
        var refused = await revoked.GetAsync($"/v1/users/{_old.Totp.UserId}/two-factor");
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the key revoked before the upgrade stays revoked");

        var keys = (await JsonAsync(await _admin.GetAsync("/v1/api-keys"), HttpStatusCode.OK)).GetProperty("items").EnumerateArray()
            .ToDictionary(k => k.GetProperty("id").GetGuid());
        Assert.Multiple(() =>
        {
            Assert.That(keys[_old.VerifyKeyId].GetProperty("name").GetString(), Is.EqualTo("portal login"));
            Assert.That(keys[_old.VerifyKeyId].GetProperty("revokedAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(keys[_old.RevokedKeyId].GetProperty("revokedAt").ValueKind, Is.Not.EqualTo(JsonValueKind.Null));
        });
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private NpgsqlDataSource NewDataSource() =>
        NpgsqlDataSource.Create(ServiceRegistration.TunedConnectionString(_connectionString, TestPooler));

    private static Pooler TestPooler => TestDatabase.Pooler == "pgbouncer" ? Pooler.PgBouncer : Pooler.None;

    private static MigrationRunner Runner(NpgsqlDataSource dataSource) => new(dataSource, TestPooler, NullLogger<MigrationRunner>.Instance);

    private async Task<List<string>> AppliedVersionsAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        return (await connection.QueryAsync<string>("select version from schema_migrations order by version")).AsList();
    }

    private void ExpectStatus(string userId, string? method, string? phone, DateTimeOffset? enabledAt, int backupCodes, bool locked,
        (string Purpose, string Method, string? Channel, DateTimeOffset ExpiresAt)? pending = null)
    {
        var status = _firstLook[userId].Status;
        var what = $"status of {userId} after the upgrade: {status}";
        Assert.That(status.GetProperty("enabled").GetBoolean(), Is.EqualTo(method is not null), what);
        Assert.That(status.GetProperty("method").ValueKind == JsonValueKind.Null ? null : status.GetProperty("method").GetString(), Is.EqualTo(method), what);
        Assert.That(status.GetProperty("phoneNumber").ValueKind == JsonValueKind.Null ? null : status.GetProperty("phoneNumber").GetString(),
            Is.EqualTo(phone), what);
        Assert.That(status.GetProperty("enabledAt").ValueKind == JsonValueKind.Null ? (DateTimeOffset?)null : status.GetProperty("enabledAt").GetDateTimeOffset(),
            Is.EqualTo(enabledAt), what);
        Assert.That(status.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(backupCodes), what);
        Assert.That(status.GetProperty("locked").GetBoolean(), Is.EqualTo(locked), what);
        var shown = status.GetProperty("pending");
        if (pending is not { } expected)
        {
            Assert.That(shown.ValueKind, Is.EqualTo(JsonValueKind.Null), what);
            return;
        }

        Assert.That(shown.ValueKind, Is.EqualTo(JsonValueKind.Object), what);
        if (shown.ValueKind == JsonValueKind.Object)
        {
            Assert.That(shown.GetProperty("purpose").GetString(), Is.EqualTo(expected.Purpose), what);
            Assert.That(shown.GetProperty("method").GetString(), Is.EqualTo(expected.Method), what);
            Assert.That(shown.GetProperty("channel").ValueKind == JsonValueKind.Null ? null : shown.GetProperty("channel").GetString(),
                Is.EqualTo(expected.Channel), what);
            Assert.That(shown.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(expected.ExpiresAt), what);
        }
    }

    private async Task<JsonElement> PasskeyChallengeAsync(string userId) =>
        (await JsonAsync(await _admin.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel = "passkey", purpose = "login" }),
            HttpStatusCode.OK, "the passkey factor written before the upgrade must get a challenge")).GetProperty("options");

    private async Task<Dictionary<long, JsonElement>> DeliveriesAsync(Guid endpoint) =>
        (await JsonAsync(await _admin.GetAsync($"/v1/webhooks/{endpoint}/deliveries?limit=200"), HttpStatusCode.OK))
        .GetProperty("items").EnumerateArray().ToDictionary(d => d.GetProperty("id").GetInt64());

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected, string? why = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), $"{why}{(why is null ? "" : ": ")}{response.RequestMessage?.Method} " +
                                                                $"{response.RequestMessage?.RequestUri?.PathAndQuery} answered {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}

/// <summary>The rows of the release with migrations 0001–0007, written as its code writes them, in plain SQL: a frozen copy
/// of <c>TwoFactorStore</c>, <c>PhoneCodeStore</c>, <c>PasskeyStore</c>, <c>AuditLog</c>, <c>PromptSkipStore</c>,
/// <c>ApiKeyStore</c>, <c>WebhookStore</c> and <c>WebhookOutbox</c> as they were, so that changing those stores never
/// changes what "a database of that release" means. Secrets are sealed as that release sealed them (SecretBox, with the
/// associated data of its <c>SealContexts</c> written out here: <c>totp:{userId}</c>, <c>phone:{userId}</c>,
/// <c>webhook:{endpointId:N}</c>; the keyed hashes with purposes <c>phone-lookup</c> and <c>phone-code</c>).</summary>
internal sealed class Release7Rows(NpgsqlConnection connection, SecretBox secrets)
{
    public const int PromptSkips = 2;
    public const long PasskeySignCount = 7;
    public const int OldIterations = 2_000;
    private const int Iterations = 20_000;
    private const string KeyId = "k1";

    public sealed record TotpUser(string UserId, byte[] Secret, DateTimeOffset EnabledAt, int BackupCodesLeft);

    public sealed record PhoneUser(string UserId, string E164, DateTimeOffset EnabledAt, int BackupCodesLeft, string UnusedCode, string UsedCode,
        string OldCostCode);

    public sealed record PasskeyUser(string UserId, SoftPasskey Authenticator, DateTimeOffset EnabledAt, int BackupCodesLeft);

    public sealed record EnrollingUser(string UserId, byte[] Secret, DateTimeOffset ExpiresAt);

    public sealed record SwitchingUser(string UserId, byte[] Secret, DateTimeOffset EnabledAt, int BackupCodesLeft, string E164, string PendingCode,
        DateTimeOffset PendingExpiresAt);

    /// <summary>A user whose login proof was issued just before the upgrade and is answered just after it: an SMS code
    /// (<see cref="Code"/>) or a passkey challenge (<see cref="Challenge"/>, base64url).</summary>
    public sealed record InFlightUser(string UserId, string? E164, string? Code, SoftPasskey? Authenticator, string? Challenge);

    public sealed record AuditRow(long Id, string? UserId, string Type, DateTimeOffset At, Guid? ApiKeyId, string Details);

    public sealed record DeliveryRow(long Id, Guid EventId, string Type, string UserId, string Status, string Body);

    public sealed record Written(
        TotpUser Totp, PhoneUser Phone, PasskeyUser Passkey, EnrollingUser Enrolling, SwitchingUser Switching, TotpUser Locked, string PromptUserId,
        InFlightUser SmsInFlight, InFlightUser PasskeyInFlight, IReadOnlyList<AuditRow> Audit, long LastAuditId, Guid Endpoint, string WebhookSecret, IReadOnlyList<DeliveryRow> Deliveries,
        string VerifyKey, Guid VerifyKeyId, string RevokedKey, Guid RevokedKeyId)
    {
        public IEnumerable<string> Users =>
            [Totp.UserId, Phone.UserId, Passkey.UserId, Enrolling.UserId, Switching.UserId, Locked.UserId, PromptUserId, SmsInFlight.UserId, PasskeyInFlight.UserId];
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly List<AuditRow> _audit = [];

    /// <summary>Everything, as the old release would have left it at <paramref name="now"/> (the upgraded app's clock).</summary>
    public async Task<Written> WriteAsync(DateTimeOffset now, string webhookUrl)
    {
        var enabledAt = now.AddDays(-30);

        var (verifyKeyId, verifyKey) = (Guid.CreateVersion7(now.AddDays(-60)), NewApiKey());
        await ApiKeyAsync(verifyKeyId, "portal login", verifyKey, ["verify"], now.AddDays(-60), revokedAt: null);
        var (revokedKeyId, revokedKey) = (Guid.CreateVersion7(now.AddDays(-59)), NewApiKey());
        await ApiKeyAsync(revokedKeyId, "old portal", revokedKey, ["manage"], now.AddDays(-59), revokedAt: now.AddDays(-10));
        await AuditAsync(null, "api_key_created", now.AddDays(-60), null, new { keyId = verifyKeyId, name = "portal login", scopes = new[] { "verify" } });

        var endpoint = Guid.CreateVersion7(now.AddDays(-40));
        var webhookSecret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        await connection.ExecuteAsync("""
            insert into webhook_endpoints (id, url, events, description, secret, created_at, created_by)
            values (@endpoint, @webhookUrl, array['two_factor.*'], 'portal', @secret, @createdAt, null)
            """, new { endpoint, webhookUrl, secret = secrets.Seal(webhookSecret, $"webhook:{endpoint:N}"), createdAt = now.AddDays(-40) });
        var deliveries = new List<DeliveryRow>();

        // A TOTP user who last logged in during the previous step.
        var totp = new TotpUser("upgrade-totp", RandomNumberGenerator.GetBytes(20), enabledAt, 9);
        await EnabledTotpAsync(totp, lastStep: now.ToUnixTimeSeconds() / 30 - 1, failed: 0, lockedAt: null);
        await BackupCodesAsync(totp.UserId, enabledAt, unused: 9, used: 1);
        await AuditAsync(totp.UserId, "verification_succeeded", now.AddSeconds(-20), verifyKeyId, new { method = "totp", stage = "login", driftSteps = 0 });
        deliveries.Add(await WebhookAsync(endpoint, "two_factor.enabled", totp.UserId, enabledAt,
            new { userId = totp.UserId, method = "totp", backupCodesRemaining = 10 }, delivered: true));

        // A phone user, with backup codes of both costs, one used.
        var phoneNumber = PhoneFactorTests.NewPhone();
        await PhoneFactorAsync("upgrade-phone", phoneNumber, enabledAt);
        await DeliveryAsync("upgrade-phone", phoneNumber, enabledAt.AddMinutes(-1), confirmed: false);
        await AuditAsync("upgrade-phone", "enrollment_started", enabledAt.AddMinutes(-1), null,
            new { method = "phone", phoneNumber = PhoneNumbers.Mask(phoneNumber), channel = "sms" });
        await AuditAsync("upgrade-phone", "code_sent", enabledAt.AddMinutes(-1), null, new
        {
            channel = "sms", purpose = "pending", phoneNumber = PhoneNumbers.Mask(phoneNumber), provider = "telnyx", providerMessageId = "msg-1", kept = true,
        });
        await AuditAsync("upgrade-phone", "enrollment_confirmed", enabledAt, null,
            new { method = "phone", phoneNumber = PhoneNumbers.Mask(phoneNumber), channel = "sms", backupCodes = 10 });
        var codes = await BackupCodesAsync("upgrade-phone", enabledAt, unused: 8, used: 1, oldCost: 1);
        var phone = new PhoneUser("upgrade-phone", phoneNumber, enabledAt, 9, codes.Unused[0], codes.Used[0], codes.OldCost[0]);

        // A passkey user: the factor row and its credential (the software authenticator's key).
        var authenticator = new SoftPasskey(PasskeyFixture.Origin, PasskeyFixture.RpId) { SignCount = (uint)PasskeySignCount };
        var passkey = new PasskeyUser("upgrade-passkey", authenticator, enabledAt, 10);
        await PasskeyFactorAsync(passkey.UserId, authenticator, enabledAt, now);
        await BackupCodesAsync(passkey.UserId, enabledAt, unused: 10, used: 0);
        await AuditAsync(passkey.UserId, "enrollment_started", enabledAt.AddMinutes(-1), null, new { method = "passkey" });
        await AuditAsync(passkey.UserId, "enrollment_confirmed", enabledAt, null, new { method = "passkey", backupCodes = 10 });

        // A pending TOTP enrollment, started two minutes ago (15 minutes to confirm).
        var enrolling = new EnrollingUser("upgrade-enrolling", RandomNumberGenerator.GetBytes(20), now.AddMinutes(13));
        await connection.ExecuteAsync("""
            insert into pending_factors (user_id, id, purpose, method, totp_secret, totp_algorithm, totp_digits, totp_period, created_at, expires_at)
            values (@UserId, @id, 'enroll', 'totp', @secret, 'SHA1', 6, 30, @createdAt, @ExpiresAt)
            """, new
        {
            enrolling.UserId, id = Guid.CreateVersion7(now.AddMinutes(-2)), secret = secrets.Seal(enrolling.Secret, $"totp:{enrolling.UserId}"),
            createdAt = now.AddMinutes(-2), enrolling.ExpiresAt,
        });
        await AuditAsync(enrolling.UserId, "enrollment_started", now.AddMinutes(-2), verifyKeyId, new { method = "totp" });

        // A TOTP user switching to a phone: the pending switch from that factor, and the code sent for it a minute ago.
        var switchingNumber = PhoneFactorTests.NewPhone();
        var switchCode = "493817";
        var switching = new SwitchingUser("upgrade-switching", RandomNumberGenerator.GetBytes(20), enabledAt, 10, switchingNumber, switchCode,
            now.AddMinutes(9));
        var fromFactor = await EnabledTotpAsync(new TotpUser(switching.UserId, switching.Secret, enabledAt, 10), now.ToUnixTimeSeconds() / 30 - 2, 0, null);
        await BackupCodesAsync(switching.UserId, enabledAt, unused: 10, used: 0);
        var pendingId = Guid.CreateVersion7(now.AddMinutes(-1));
        await connection.ExecuteAsync("""
            insert into pending_factors (user_id, id, purpose, method, phone_number, phone_hash, phone_masked, channel, created_at, expires_at,
                                         from_factor_id)
            values (@UserId, @pendingId, 'switch', 'phone', @number, @hash, @masked, 'sms', @createdAt, @PendingExpiresAt, @fromFactor);
            insert into phone_codes (user_id, purpose, id, factor_id, channel, key_id, code_hash, attempts, created_at, expires_at)
            values (@UserId, 'pending', @pendingId, @pendingId, 'sms', @KeyId, @codeHash, 0, @createdAt, @PendingExpiresAt);
            """, new
        {
            switching.UserId, pendingId, number = secrets.Seal(switchingNumber, $"phone:{switching.UserId}"),
            hash = secrets.Mac(KeyId, "phone-lookup", switchingNumber), masked = PhoneNumbers.Mask(switchingNumber), createdAt = now.AddMinutes(-1),
            switching.PendingExpiresAt, fromFactor, KeyId,
            codeHash = secrets.Mac(KeyId, "phone-code", $"{switching.UserId}|pending|{pendingId:N}|{pendingId:N}|{switchCode}"),
        });
        await DeliveryAsync(switching.UserId, switchingNumber, now.AddMinutes(-1), confirmed: false);
        await AuditAsync(switching.UserId, "method_switch_started", now.AddMinutes(-1), null,
            new { method = "phone", phoneNumber = PhoneNumbers.Mask(switchingNumber), channel = "sms" });

        // A TOTP user locked two minutes ago after 100 consecutive failures (Limits:LockoutThreshold).
        var locked = new TotpUser("upgrade-locked", RandomNumberGenerator.GetBytes(20), enabledAt, 10);
        await EnabledTotpAsync(locked, lastStep: -1, failed: 100, lockedAt: now.AddMinutes(-2));
        await BackupCodesAsync(locked.UserId, enabledAt, unused: 10, used: 0);
        await connection.ExecuteAsync("insert into verification_failures (user_id, created_at) values (@userId, @at)",
            new { userId = locked.UserId, at = now.AddMinutes(-2) });
        await AuditAsync(locked.UserId, "verification_failed", now.AddMinutes(-2), verifyKeyId,
            new { method = "totp", stage = "login", reason = "invalid_code" });
        await AuditAsync(locked.UserId, "locked", now.AddMinutes(-2), verifyKeyId, new { method = "totp", consecutiveFailures = 100 });
        deliveries.Add(await WebhookAsync(endpoint, "two_factor.locked", locked.UserId, now.AddMinutes(-2),
            new { userId = locked.UserId, method = "totp", consecutiveFailures = 100, actingKeyId = verifyKeyId.ToString() }, delivered: false));

        // A user without a factor who skipped the enrollment prompt twice.
        const string promptUser = "upgrade-prompt";
        await connection.ExecuteAsync("insert into prompt_skips (user_id, skips, last_at) values (@promptUser, @PromptSkips, @at)",
            new { promptUser, PromptSkips, at = now.AddDays(-1) });
        await AuditAsync(promptUser, "prompt_skipped", now.AddDays(-2), verifyKeyId, new { skips = 1 });
        await AuditAsync(promptUser, "prompt_skipped", now.AddDays(-1), verifyKeyId, new { skips = 2 });

        // A phone user who asked for a login code a minute before the upgrade, and types it after.
        var smsNumber = PhoneFactorTests.NewPhone();
        var smsFactor = await PhoneFactorAsync("upgrade-sms-in-flight", smsNumber, enabledAt);
        var (smsCodeId, smsCode) = (Guid.CreateVersion7(now.AddMinutes(-1)), "271828");
        await connection.ExecuteAsync("""
            insert into phone_codes (user_id, purpose, id, factor_id, channel, key_id, code_hash, attempts, created_at, expires_at)
            values (@userId, 'login', @smsCodeId, @smsFactor, 'sms', @KeyId, @codeHash, 0, @createdAt, @expiresAt)
            """, new
        {
            userId = "upgrade-sms-in-flight", smsCodeId, smsFactor, KeyId, createdAt = now.AddMinutes(-1), expiresAt = now.AddMinutes(9),
            codeHash = secrets.Mac(KeyId, "phone-code", $"upgrade-sms-in-flight|login|{smsCodeId:N}|{smsFactor:N}|{smsCode}"),
        });
        await DeliveryAsync("upgrade-sms-in-flight", smsNumber, now.AddMinutes(-1), confirmed: true);
        await BackupCodesAsync("upgrade-sms-in-flight", enabledAt, unused: 10, used: 0);
        var smsInFlight = new InFlightUser("upgrade-sms-in-flight", smsNumber, smsCode, null, null);

        // A passkey user whose login challenge was issued a minute before the upgrade (options as the Fido2 library stores them).
        var inFlightKey = new SoftPasskey(PasskeyFixture.Origin, PasskeyFixture.RpId) { SignCount = (uint)PasskeySignCount };
        var inFlightFactor = await PasskeyFactorAsync("upgrade-passkey-in-flight", inFlightKey, enabledAt, now);
        var options = new Fido2NetLib.Fido2(new Fido2NetLib.Fido2Configuration
        {
            RPID = PasskeyFixture.RpId, RPName = "Example Portal", Origins = new HashSet<string> { PasskeyFixture.Origin }, Timeout = 300_000, ChallengeSize = 32,
        }).GetAssertionOptions(new Fido2NetLib.GetAssertionOptionsParams
        {
            AllowedCredentials =
            [
                new Fido2NetLib.Objects.PublicKeyCredentialDescriptor(Fido2NetLib.Objects.PublicKeyCredentialType.PublicKey, inFlightKey.CredentialId,
                    [Fido2NetLib.Objects.AuthenticatorTransport.Internal]),
            ],
            UserVerification = Fido2NetLib.Objects.UserVerificationRequirement.Preferred,
        });
        await connection.ExecuteAsync("""
            insert into passkey_challenges (user_id, ceremony, purpose, pending_id, factor_id, challenge, options, created_at, expires_at)
            values (@userId, 'authentication', 'login', null, @inFlightFactor, @challenge, @json, @createdAt, @expiresAt)
            """, new
        {
            userId = "upgrade-passkey-in-flight", inFlightFactor, challenge = options.Challenge, json = options.ToJson(), createdAt = now.AddMinutes(-1),
            expiresAt = now.AddMinutes(4),
        });
        await BackupCodesAsync("upgrade-passkey-in-flight", enabledAt, unused: 10, used: 0);
        var passkeyInFlight = new InFlightUser("upgrade-passkey-in-flight", null, null, inFlightKey,
            System.Buffers.Text.Base64Url.EncodeToString(options.Challenge));

        return new Written(totp, phone, passkey, enrolling, switching, locked, promptUser, smsInFlight, passkeyInFlight, _audit, _audit.Max(a => a.Id), endpoint, webhookSecret,
            deliveries, verifyKey, verifyKeyId, revokedKey, revokedKeyId);
    }

    private static string NewApiKey() =>
        "ask_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private Task ApiKeyAsync(Guid id, string name, string key, string[] scopes, DateTimeOffset createdAt, DateTimeOffset? revokedAt) =>
        connection.ExecuteAsync("""
            insert into api_keys (id, name, prefix, key_hash, scopes, created_at, revoked_at)
            values (@id, @name, @prefix, @hash, @scopes, @createdAt, @revokedAt)
            """, new { id, name, prefix = key[..12], hash = SHA256.HashData(Encoding.UTF8.GetBytes(key)), scopes, createdAt, revokedAt });

    /// <summary>An enabled TOTP factor (SHA-1, 6 digits, 30 s) with its enrollment's audit events; its factor id.</summary>
    private async Task<Guid> EnabledTotpAsync(TotpUser user, long lastStep, int failed, DateTimeOffset? lockedAt)
    {
        var factorId = Guid.CreateVersion7(user.EnabledAt);
        await connection.ExecuteAsync("""
            insert into factors (user_id, factor_id, method, totp_secret, totp_algorithm, totp_digits, totp_period, last_totp_step, enabled_at,
                                 updated_at, failed_consecutive, locked_at)
            values (@UserId, @factorId, 'totp', @secret, 'SHA1', 6, 30, @lastStep, @EnabledAt, @updatedAt, @failed, @lockedAt)
            """, new
        {
            user.UserId, factorId, secret = secrets.Seal(user.Secret, $"totp:{user.UserId}"), lastStep, user.EnabledAt,
            updatedAt = lockedAt ?? user.EnabledAt, failed, lockedAt,
        });
        await AuditAsync(user.UserId, "enrollment_started", user.EnabledAt.AddMinutes(-1), null, new { method = "totp" });
        await AuditAsync(user.UserId, "enrollment_confirmed", user.EnabledAt, null, new { method = "totp", backupCodes = 10 });
        return factorId;
    }

    /// <summary>An enabled phone factor: the number sealed, its lookup hash and its masked form; its factor id.</summary>
    private async Task<Guid> PhoneFactorAsync(string userId, string e164, DateTimeOffset enabledAt)
    {
        var factorId = Guid.CreateVersion7(enabledAt);
        await connection.ExecuteAsync("""
            insert into factors (user_id, factor_id, method, phone_number, phone_hash, phone_masked, enabled_at, updated_at)
            values (@userId, @factorId, 'phone', @number, @hash, @masked, @enabledAt, @enabledAt)
            """, new
        {
            userId, factorId, number = secrets.Seal(e164, $"phone:{userId}"), hash = secrets.Mac(KeyId, "phone-lookup", e164),
            masked = PhoneNumbers.Mask(e164), enabledAt,
        });
        return factorId;
    }

    /// <summary>An enabled passkey factor and its one credential: the software authenticator's key, registered for a random user
    /// handle, with the signature counter at <see cref="PasskeySignCount"/>; the factor id.</summary>
    private async Task<Guid> PasskeyFactorAsync(string userId, SoftPasskey authenticator, DateTimeOffset enabledAt, DateTimeOffset now)
    {
        var factorId = Guid.CreateVersion7(enabledAt);
        var userHandle = RandomNumberGenerator.GetBytes(32);
        authenticator.RegisteredAs(userHandle);
        await connection.ExecuteAsync("""
            insert into factors (user_id, factor_id, method, enabled_at, updated_at) values (@userId, @factorId, 'passkey', @enabledAt, @enabledAt);
            insert into passkey_credentials (credential_id, user_id, public_key, sign_count, transports, aaguid, user_handle, attestation_fmt,
                                             backup_eligible, backed_up, created_at, last_used_at)
            values (@credentialId, @userId, @publicKey, @signCount, array['internal'], @aaguid, @userHandle, 'none', false, false, @enabledAt, @lastUsedAt);
            """, new
        {
            userId, enabledAt, factorId, credentialId = authenticator.CredentialId, publicKey = authenticator.PublicKeyCose, signCount = PasskeySignCount,
            aaguid = SoftPasskey.Aaguid, userHandle, lastUsedAt = now.AddDays(-1),
        });
        return factorId;
    }

    /// <summary>Backup codes as stored: salt + PBKDF2-HMAC-SHA256 of the normalized code, with the cost they were hashed at
    /// (<see cref="OldIterations"/> for codes handed out before migration 0002 recorded the cost).</summary>
    private async Task<(List<string> Unused, List<string> Used, List<string> OldCost)> BackupCodesAsync(string userId, DateTimeOffset createdAt,
        int unused, int used, int oldCost = 0)
    {
        var codes = BackupCodeSet.Generate(unused + used + oldCost);
        var (fresh, spent, cheap) = (codes.Take(unused).ToList(), codes.Skip(unused).Take(used).ToList(), codes.Skip(unused + used).ToList());
        foreach (var code in codes)
        {
            var salt = RandomNumberGenerator.GetBytes(16);
            var iterations = cheap.Contains(code) ? OldIterations : Iterations;
            var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.ASCII.GetBytes(code.Replace("-", "", StringComparison.Ordinal)), salt, iterations,
                HashAlgorithmName.SHA256, 32);
            await connection.ExecuteAsync("""
                insert into backup_codes (user_id, salt, code_hash, iterations, created_at, used_at)
                values (@userId, @salt, @hash, @iterations, @createdAt, @usedAt)
                """, new { userId, salt, hash, iterations, createdAt, usedAt = spent.Contains(code) ? createdAt.AddDays(1) : (DateTimeOffset?)null });
        }

        return (fresh, spent, cheap);
    }

    private Task DeliveryAsync(string userId, string e164, DateTimeOffset at, bool confirmed) =>
        connection.ExecuteAsync("""
            insert into deliveries (user_id, phone_hash, channel, created_at, confirmed, country, user_budget)
            values (@userId, @hash, 'sms', @at, @confirmed, 'US', true)
            """, new { userId, hash = secrets.Mac(KeyId, "phone-lookup", e164), at, confirmed });

    private async Task AuditAsync(string? userId, string type, DateTimeOffset at, Guid? apiKeyId, object details)
    {
        var json = JsonSerializer.Serialize(details, Json);
        var id = await connection.ExecuteScalarAsync<long>("""
            insert into audit_events (user_id, event_type, occurred_at, api_key_id, details)
            values (@userId, @type, @at, @apiKeyId, @json::jsonb) returning id
            """, new { userId, type, at, apiKeyId, json });
        if (userId is not null)
        {
            _audit.Add(new AuditRow(id, userId, type, at, apiKeyId, json));
        }
    }

    /// <summary>An outbox event and its delivery to the endpoint: delivered at the first attempt, or pending after a 503, due again now.</summary>
    private async Task<DeliveryRow> WebhookAsync(Guid endpoint, string type, string userId, DateTimeOffset at, object data, bool delivered)
    {
        var eventId = Guid.CreateVersion7(at);
        var body = JsonSerializer.Serialize(new
        {
            type, timestamp = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture), data,
        }, Json);
        var id = await connection.ExecuteScalarAsync<long>("""
            insert into webhook_events (id, type, user_id, body, created_at) values (@eventId, @type, @userId, @body, @at);
            insert into webhook_deliveries (event_id, endpoint_id, order_key, status, attempts, next_attempt_at, last_attempt_at, last_status,
                                            last_error, delivered_at, created_at)
            values (@eventId, @endpoint, @userId, @status, 1, @next, @attempted, @lastStatus, @lastError, @deliveredAt, @at)
            returning id;
            """, new
        {
            eventId, type, userId, body, at, endpoint, status = delivered ? "delivered" : "pending", next = at.AddSeconds(5), attempted = at.AddSeconds(1),
            lastStatus = delivered ? 204 : 503, lastError = delivered ? null : "HTTP 503", deliveredAt = delivered ? at.AddSeconds(1) : (DateTimeOffset?)null,
        });
        return new DeliveryRow(id, eventId, type, userId, delivered ? "delivered" : "pending", body);
    }
}
