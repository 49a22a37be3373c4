using AuthService.Api.Events;
using AuthService.Api.Storage;

namespace AuthService.Tests.Storage;

/// <summary>The typed audit events store the JSON details the untyped ones did: the same field names, camelCase, and
/// <c>factorId</c> (or a part only some methods have) only when given.</summary>
public sealed class AuditEventJsonTests
{
    private static readonly Guid Factor = Guid.Parse("0190a000-0000-7000-8000-000000000001");

    [Test]
    public void Each_event_stores_its_fields_under_todays_names()
    {
        Assert.Multiple(() =>
        {
            Assert.That(AuditLog.Details(new AuditEvent.VerificationFailed("totp", "login", "invalid_code")),
                Is.EqualTo("""{"method":"totp","stage":"login","reason":"invalid_code"}"""));
            Assert.That(AuditLog.Details(new AuditEvent.VerificationFailed("totp", "login", "invalid_code", Factor)),
                Is.EqualTo($$"""{"method":"totp","stage":"login","reason":"invalid_code","factorId":"{{Factor}}"}"""));
            Assert.That(AuditLog.Details(new AuditEvent.VerificationSucceeded("totp", "login", DriftSteps: 0)),
                Is.EqualTo("""{"method":"totp","stage":"login","driftSteps":0}"""));
            Assert.That(AuditLog.Details(new AuditEvent.VerificationSucceeded("phone", "proof", BackupCodesRemaining: 7)),
                Is.EqualTo("""{"method":"phone","stage":"proof","backupCodesRemaining":7}"""));
            Assert.That(AuditLog.Details(new AuditEvent.EnrollmentStarted("totp")), Is.EqualTo("""{"method":"totp"}"""));
            Assert.That(AuditLog.Details(new AuditEvent.MethodSwitchStarted("phone", "+1******0123", "sms")),
                Is.EqualTo("""{"method":"phone","phoneNumber":"\u002B1******0123","channel":"sms"}"""));
            Assert.That(AuditLog.Details(new AuditEvent.RateLimited("attempts_per_minute")), Is.EqualTo("""{"limit":"attempts_per_minute"}"""));
            Assert.That(AuditLog.Details(new AuditEvent.Locked(5)), Is.EqualTo("""{"consecutiveFailures":5}"""));
            Assert.That(AuditLog.Details(new AuditEvent.CodeSent("sms", "login", "+1******0123", "telnyx", null, true)),
                Is.EqualTo("""{"channel":"sms","purpose":"login","phoneNumber":"\u002B1******0123","provider":"telnyx","providerMessageId":null,"kept":true}"""),
                "a field that was always written stays written, null included");
            Assert.That(AuditLog.Details(new AuditEvent.ApiKeyCreated(Factor, "portal", ["verify"])),
                Is.EqualTo($$"""{"keyId":"{{Factor}}","name":"portal","scopes":["verify"]}"""));
            Assert.That(AuditLog.Details(new AuditEvent.FactorAdded(Factor, "totp")), Is.EqualTo($$"""{"factorId":"{{Factor}}","method":"totp"}"""));
            Assert.That(AuditLog.Details(new AuditEvent.FactorRemoved(Factor, "phone")), Is.EqualTo($$"""{"factorId":"{{Factor}}","method":"phone"}"""));
        });
    }

    [Test]
    public async Task The_profile_a_request_ran_under_is_appended_unless_the_event_names_its_own()
    {
        // In a flow of its own, as a request is: the AsyncLocal does not leak into the other tests.
        await Task.Run(() =>
        {
            EventProfile.Current = "acme";
            Assert.Multiple(() =>
            {
                Assert.That(AuditLog.Details(new AuditEvent.EnrollmentStarted("totp")), Is.EqualTo("""{"method":"totp","profile":"acme"}"""));
                Assert.That(AuditLog.Details(new AuditEvent.ApiKeyCreated(Factor, "portal", ["verify"], "beta")),
                    Is.EqualTo($$"""{"keyId":"{{Factor}}","name":"portal","scopes":["verify"],"profile":"beta"}"""), "a created key's own profile");
            });
            EventProfile.Current = "a\"b";
            Assert.That(AuditLog.Details(new AuditEvent.Locked(5)), Is.EqualTo("""{"consecutiveFailures":5,"profile":"a\u0022b"}"""), "escaped as JSON");
        });
    }
}
