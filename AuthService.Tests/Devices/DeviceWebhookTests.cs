using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Webhooks;
using static AuthService.Tests.Devices.DeviceFlows;
using static AuthService.Tests.Webhooks.WebhookTesting;

namespace AuthService.Tests.Devices;

/// <summary>The webhooks of remembered devices (DESIGN §9.3), signed and delivered like every other: a new sign-in, a remembered
/// device, a revocation; never the token.</summary>
public class DeviceWebhookTests
{
    [Test]
    public async Task A_login_a_remembered_device_and_a_revocation_reach_the_portal_without_the_token()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        await using var receiver = await WebhookReceiver.StartAsync();
        var endpoint = await SubscribeAsync(client, receiver, "two_factor.*");
        try
        {
            var ann = await Flows.EnableTotpAsync(app, client);
            var plain = await Flows.VerifyAsync(client, ann.UserId, new { code = Flows.Code(ann.Secret, app.Time.GetUtcNow()) });
            Assert.That(plain.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            var (token, body) = await RememberAsync(app, client, ann, "Safari on iOS");
            app.Time.Advance(TimeSpan.FromSeconds(30));
            var known = await Flows.VerifyAsync(client, ann.UserId, new { code = Flows.Code(ann.Secret, app.Time.GetUtcNow()), deviceToken = token });
            Assert.That(known.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            (await client.PostAsync(Url(ann.UserId, "/devices/revoke-all"), null)).EnsureSuccessStatusCode();

            await DrainAsync(app);
            var events = For(receiver, ann.UserId);
            Assert.That(events.Select(e => e.Type), Is.EqualTo(new[]
            {
                "two_factor.enabled", "two_factor.new_device_login", "two_factor.new_device_login", "two_factor.device_remembered",
                "two_factor.devices_revoked",
            }), "the verify with the valid token is no new device; a login's event commits with the login, the device after it");
            Assert.That(events.Select(e => e.SignatureValid), Has.All.True);
            Assert.That(events[1].Data.GetProperty("method").GetString(), Is.EqualTo("totp"));
            Assert.That(events[1].Data.TryGetProperty("deviceId", out _), Is.False);
            var deviceId = events[3].Data.GetProperty("deviceId").GetString();
            Assert.That(events[3].Data.GetProperty("label").GetString(), Is.EqualTo("Safari on iOS"));
            Assert.That(events[3].Data.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(body.GetProperty("expiresAt").GetDateTimeOffset()));
            Assert.That(events[2].Data.GetProperty("deviceId").GetString(), Is.EqualTo(deviceId), "the new sign-in names the device it remembered");
            Assert.That(events[4].Data.GetProperty("count").GetInt32(), Is.EqualTo(1));
            Assert.That(events[4].Data.GetProperty("cause").GetString(), Is.EqualTo("revoke_all"));
            Assert.That(events.Select(e => e.Body), Has.None.Contains(token["dvt_".Length..]));
        }
        finally
        {
            await DeleteEndpointsAsync(app.ConnectionString, endpoint.Id);
        }
    }
}
