using AuthService.Api.Events;

namespace AuthService.Tests.Webhooks;

/// <summary>The exact text of an event's body, which receivers sign and parse: fields in this order, the timestamp in
/// milliseconds UTC, and JSON escaping as System.Text.Json's default encoder does it.</summary>
public class WebhookBodyTests
{
    [Test]
    public void A_body_is_type_timestamp_and_data_in_that_order()
    {
        var key = Guid.Parse("0190a000-0000-7000-8000-00000000000a");
        var at = new DateTimeOffset(2026, 12, 6, 1, 2, 3, 456, TimeSpan.FromHours(2));

        var created = WebhookEvents.FromAudit(new AuditEvent.ApiKeyCreated(key, "portal <prod> \"eu\"", ["verify", "manage"]), null, null, at).Single();
        var login = WebhookEvents.FromAudit(new AuditEvent.NewDeviceLogin("totp", key), "user-1", key, at).Single();

        Assert.That(created.Body, Is.EqualTo(
            """{"type":"api_key.created","timestamp":"2026-12-05T23:02:03.456Z","data":{"keyId":"0190a000-0000-7000-8000-00000000000a","name":"portal \u003Cprod\u003E \u0022eu\u0022","scopes":["verify","manage"]}}"""));
        Assert.That(login.Body, Is.EqualTo(
            """{"type":"two_factor.new_device_login","timestamp":"2026-12-05T23:02:03.456Z","data":{"userId":"user-1","method":"totp","factorId":"0190a000-0000-7000-8000-00000000000a","actingKeyId":"0190a000-0000-7000-8000-00000000000a"}}"""));
    }
}
