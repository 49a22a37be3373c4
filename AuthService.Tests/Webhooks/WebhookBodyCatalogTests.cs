using AuthService.Api.Events;

namespace AuthService.Tests.Webhooks;

/// <summary>Every webhook event type's exact body, as receivers sign and parse it: its fields, their order, which are left
/// out when null, the numbers, booleans, dates and arrays, and the request's verify profile. Pinned from the bodies the
/// <c>JsonObject</c> implementation wrote before issue 27 changed how they are written.</summary>
public class WebhookBodyCatalogTests
{
    private static readonly Guid Key = Guid.Parse("0190a000-0000-7000-8000-00000000000a");
    private static readonly Guid Factor = Guid.Parse("0190a000-0000-7000-8000-00000000000f");
    private static readonly DateTimeOffset At = new(2026, 12, 6, 1, 2, 3, 456, TimeSpan.FromHours(2));

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("enabled", new AuditEvent.EnrollmentConfirmed("sms", "+1******0123", "sms", 10, Factor));
        yield return Case("enabled, totp", new AuditEvent.EnrollmentConfirmed("totp", null, null, 10));
        yield return Case("switched", new AuditEvent.MethodSwitched("sms", "totp", null, null, Factor));
        yield return Case("switched to phone", new AuditEvent.MethodSwitched("totp", "voice", "+1******0123", "voice"));
        yield return Case("factor added", new AuditEvent.FactorAdded(Factor, "totp", "Phone <2>"));
        yield return Case("factor added, no label", new AuditEvent.FactorAdded(Factor, "totp"));
        yield return Case("factor removed", new AuditEvent.FactorRemoved(Factor, "sms"));
        yield return Case("reset", new AuditEvent.SupportReset("lost phone", "T-1"));
        yield return Case("codes regenerated", new AuditEvent.BackupCodesRegenerated(10));
        yield return Case("code used", new AuditEvent.BackupCodeUsed("backup_code", "login", 5));
        yield return Case("code used, low", new AuditEvent.BackupCodeUsed("backup_code", "login", 2));
        yield return Case("bypass used", new AuditEvent.BypassCodeUsed(Factor, "login", "T-2", 0));
        yield return Case("locked", new AuditEvent.Locked(5));
        yield return Case("rate limited", new AuditEvent.RateLimited("attempts_per_minute"));
        yield return Case("rate limited, daily", new AuditEvent.RateLimited("daily_requests", "number", "+1******0123", "sms"));
        yield return Case("rate limited, daily, challenge", new AuditEvent.RateLimited("daily_requests", "user", "+1******0123", "call", Factor));
        yield return Case("number risk", new AuditEvent.NumberRisk("voip", "sms", "+1******0123", "voip", "us", null));
        yield return Case("number risk, challenge", new AuditEvent.NumberRisk("recent_port", "sms", "+1******0123", "mobile", "us", "2026-12-01", Factor));
        yield return Case("device remembered", new AuditEvent.DeviceRemembered(Factor, "Firefox \"home\"", At.AddDays(30)));
        yield return Case("devices revoked", new AuditEvent.DevicesRevoked(3, "revoke_all"));
        yield return Case("device revoked", new AuditEvent.DevicesRevoked(1, "revoked", Factor));
        yield return Case("new device login", new AuditEvent.NewDeviceLogin("totp", Factor, Key));
        yield return Case("sms failed", new AuditEvent.SmsFailed("login", "delivery_failed", "msg-1", "call"));
        yield return Case("key created", new AuditEvent.ApiKeyCreated(Key, "portal", ["verify", "manage"], "brand-b"), userId: null);
        yield return Case("key revoked", new AuditEvent.ApiKeyRevoked(Key), userId: null);
        yield return Case("no webhook", new AuditEvent.PromptSkipped(1));
    }

    private static TestCaseData Case(string name, AuditEvent audit, string? userId = "user-1") =>
        new TestCaseData(audit, userId).SetName(name);

    [TestCaseSource(nameof(Cases))]
    public void A_body_is_what_it_was(AuditEvent audit, string? userId)
    {
        foreach (var profile in new string?[] { null, "eu" })
        {
            EventProfile.Current = profile;
            try
            {
                var bodies = WebhookEvents.FromAudit(audit, userId, Key, At).Select(e => $"{e.Type} {e.Body}").ToList();
                var name = TestContext.CurrentContext.Test.Name + (profile is null ? "" : " (profile)");
                Assert.That(string.Join("\n", bodies), Is.EqualTo(Expected.GetValueOrDefault(name, "?")), name);
            }
            finally
            {
                EventProfile.Current = null;
            }
        }
    }

    private static readonly Dictionary<string, string> Expected = new()
    {
        ["enabled"] =
            """two_factor.enabled {"type":"two_factor.enabled","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","method":"sms","phoneNumber":"\u002B1******0123","channel":"sms","backupCodesRemaining":10,"factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["enabled (profile)"] =
            """two_factor.enabled {"type":"two_factor.enabled","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","method":"sms","phoneNumber":"\u002B1******0123","channel":"sms","backupCodesRemaining":10,"factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["enabled, totp"] =
            """two_factor.enabled {"type":"two_factor.enabled","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","method":"totp","backupCodesRemaining":10,"actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["enabled, totp (profile)"] =
            """two_factor.enabled {"type":"two_factor.enabled","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","method":"totp","backupCodesRemaining":10,"actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["switched"] =
            """two_factor.method_switched {"type":"two_factor.method_switched","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","from":"sms","method":"totp","factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["switched (profile)"] =
            """two_factor.method_switched {"type":"two_factor.method_switched","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","from":"sms","method":"totp","factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["switched to phone"] =
            """two_factor.method_switched {"type":"two_factor.method_switched","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","from":"totp","method":"voice","phoneNumber":"\u002B1******0123","channel":"voice","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["switched to phone (profile)"] =
            """two_factor.method_switched {"type":"two_factor.method_switched","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","from":"totp","method":"voice","phoneNumber":"\u002B1******0123","channel":"voice","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["factor added"] =
            """two_factor.factor_added {"type":"two_factor.factor_added","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","factorId":"0190a000-0000-7000-8000-00000000000f","method":"totp","label":"Phone \u003C2\u003E","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["factor added (profile)"] =
            """two_factor.factor_added {"type":"two_factor.factor_added","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","factorId":"0190a000-0000-7000-8000-00000000000f","method":"totp","label":"Phone \u003C2\u003E","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["factor added, no label"] =
            """two_factor.factor_added {"type":"two_factor.factor_added","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","factorId":"0190a000-0000-7000-8000-00000000000f","method":"totp","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["factor added, no label (profile)"] =
            """two_factor.factor_added {"type":"two_factor.factor_added","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","factorId":"0190a000-0000-7000-8000-00000000000f","method":"totp","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["factor removed"] =
            """two_factor.factor_removed {"type":"two_factor.factor_removed","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","factorId":"0190a000-0000-7000-8000-00000000000f","method":"sms","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["factor removed (profile)"] =
            """two_factor.factor_removed {"type":"two_factor.factor_removed","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","factorId":"0190a000-0000-7000-8000-00000000000f","method":"sms","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["reset"] =
            """two_factor.reset {"type":"two_factor.reset","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","reason":"lost phone","ticket":"T-1","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["reset (profile)"] =
            """two_factor.reset {"type":"two_factor.reset","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","reason":"lost phone","ticket":"T-1","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["codes regenerated"] =
            """two_factor.backup_codes_regenerated {"type":"two_factor.backup_codes_regenerated","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","backupCodesRemaining":10,"actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["codes regenerated (profile)"] =
            """two_factor.backup_codes_regenerated {"type":"two_factor.backup_codes_regenerated","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","backupCodesRemaining":10,"actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["code used"] =
            """two_factor.backup_code_used {"type":"two_factor.backup_code_used","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","stage":"login","backupCodesRemaining":5,"actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["code used (profile)"] =
            """two_factor.backup_code_used {"type":"two_factor.backup_code_used","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","stage":"login","backupCodesRemaining":5,"actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["code used, low"] =
            """two_factor.backup_code_used {"type":"two_factor.backup_code_used","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","stage":"login","backupCodesRemaining":2,"actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""" + "\n" + """two_factor.backup_codes_low {"type":"two_factor.backup_codes_low","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","backupCodesRemaining":2,"actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["code used, low (profile)"] =
            """two_factor.backup_code_used {"type":"two_factor.backup_code_used","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","stage":"login","backupCodesRemaining":2,"actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""" + "\n" + """two_factor.backup_codes_low {"type":"two_factor.backup_codes_low","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","backupCodesRemaining":2,"actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["bypass used"] =
            """two_factor.bypass_code_used {"type":"two_factor.bypass_code_used","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","codeId":"0190a000-0000-7000-8000-00000000000f","stage":"login","ticket":"T-2","usesLeft":0,"actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["bypass used (profile)"] =
            """two_factor.bypass_code_used {"type":"two_factor.bypass_code_used","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","codeId":"0190a000-0000-7000-8000-00000000000f","stage":"login","ticket":"T-2","usesLeft":0,"actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["locked"] =
            """two_factor.locked {"type":"two_factor.locked","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","consecutiveFailures":5,"actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["locked (profile)"] =
            """two_factor.locked {"type":"two_factor.locked","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","consecutiveFailures":5,"actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["rate limited"] =
            """two_factor.rate_limited {"type":"two_factor.rate_limited","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","limit":"attempts_per_minute","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["rate limited (profile)"] =
            """two_factor.rate_limited {"type":"two_factor.rate_limited","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","limit":"attempts_per_minute","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["rate limited, daily"] =
            """two_factor.rate_limited {"type":"two_factor.rate_limited","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","limit":"daily_requests","scope":"number","phoneNumber":"\u002B1******0123","channel":"sms","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["rate limited, daily (profile)"] =
            """two_factor.rate_limited {"type":"two_factor.rate_limited","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","limit":"daily_requests","scope":"number","phoneNumber":"\u002B1******0123","channel":"sms","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["rate limited, daily, challenge"] =
            """two_factor.rate_limited {"type":"two_factor.rate_limited","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","limit":"daily_requests","scope":"user","phoneNumber":"\u002B1******0123","channel":"call","factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["rate limited, daily, challenge (profile)"] =
            """two_factor.rate_limited {"type":"two_factor.rate_limited","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","limit":"daily_requests","scope":"user","phoneNumber":"\u002B1******0123","channel":"call","factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["number risk, challenge"] =
            """two_factor.number_risk {"type":"two_factor.number_risk","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","reason":"recent_port","channel":"sms","phoneNumber":"\u002B1******0123","lineType":"mobile","profile":"us","factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["number risk, challenge (profile)"] =
            """two_factor.number_risk {"type":"two_factor.number_risk","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","reason":"recent_port","channel":"sms","phoneNumber":"\u002B1******0123","lineType":"mobile","profile":"eu","factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["number risk"] =
            """two_factor.number_risk {"type":"two_factor.number_risk","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","reason":"voip","channel":"sms","phoneNumber":"\u002B1******0123","lineType":"voip","profile":"us","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["number risk (profile)"] =
            """two_factor.number_risk {"type":"two_factor.number_risk","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","reason":"voip","channel":"sms","phoneNumber":"\u002B1******0123","lineType":"voip","profile":"eu","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["device remembered"] =
            """two_factor.device_remembered {"type":"two_factor.device_remembered","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","deviceId":"0190a000-0000-7000-8000-00000000000f","label":"Firefox \u0022home\u0022","expiresAt":"2027-01-05T01:02:03.456+02:00","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["device remembered (profile)"] =
            """two_factor.device_remembered {"type":"two_factor.device_remembered","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","deviceId":"0190a000-0000-7000-8000-00000000000f","label":"Firefox \u0022home\u0022","expiresAt":"2027-01-05T01:02:03.456+02:00","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["devices revoked"] =
            """two_factor.devices_revoked {"type":"two_factor.devices_revoked","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","count":3,"cause":"revoke_all","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["devices revoked (profile)"] =
            """two_factor.devices_revoked {"type":"two_factor.devices_revoked","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","count":3,"cause":"revoke_all","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["device revoked"] =
            """two_factor.devices_revoked {"type":"two_factor.devices_revoked","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","count":1,"cause":"revoked","deviceId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["device revoked (profile)"] =
            """two_factor.devices_revoked {"type":"two_factor.devices_revoked","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","count":1,"cause":"revoked","deviceId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["new device login"] =
            """two_factor.new_device_login {"type":"two_factor.new_device_login","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","method":"totp","deviceId":"0190a000-0000-7000-8000-00000000000a","factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["new device login (profile)"] =
            """two_factor.new_device_login {"type":"two_factor.new_device_login","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","method":"totp","deviceId":"0190a000-0000-7000-8000-00000000000a","factorId":"0190a000-0000-7000-8000-00000000000f","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["sms failed"] =
            """two_factor.sms_failed {"type":"two_factor.sms_failed","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","purpose":"login","status":"delivery_failed","fallbackOffered":"call","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["sms failed (profile)"] =
            """two_factor.sms_failed {"type":"two_factor.sms_failed","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","purpose":"login","status":"delivery_failed","fallbackOffered":"call","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["key created"] =
            """api_key.created {"type":"api_key.created","timestamp":"2026-12-05T23:02:03.456Z","data":{"keyId":"0190a000-0000-7000-8000-00000000000a","name":"portal","scopes":["verify","manage"],"profile":"brand-b","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["key created (profile)"] =
            """api_key.created {"type":"api_key.created","timestamp":"2026-12-05T23:02:03.456Z","data":{"keyId":"0190a000-0000-7000-8000-00000000000a","name":"portal","scopes":["verify","manage"],"profile":"brand-b","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["key revoked"] =
            """api_key.revoked {"type":"api_key.revoked","timestamp":"2026-12-05T23:02:03.456Z","data":{"keyId":"0190a000-0000-7000-8000-00000000000a","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}""",
        ["key revoked (profile)"] =
            """api_key.revoked {"type":"api_key.revoked","timestamp":"2026-12-05T23:02:03.456Z","data":{"keyId":"0190a000-0000-7000-8000-00000000000a","actingKeyId":"0190a000-0000-7000-8000-00000000000a","profile":"eu"}}""",
        ["no webhook"] =
            "",
        ["no webhook (profile)"] =
            "",
    };
}
