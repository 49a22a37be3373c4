using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.Events;

namespace AuthService.Tests.SmsFallback;

/// <summary>The Telnyx callback takes no API key but Telnyx's Ed25519 signature over <c>timestamp|body</c>, within
/// <c>Telephony:Telnyx:WebhookTolerance</c> of our clock: anything else is a 400/401 problem+json, never a 500, and changes
/// nothing; a replay within the window is acknowledged and applied once.</summary>
public class TelnyxSignatureTests : AppFixture
{
    private static readonly TelnyxReports Reports = new();

    protected override bool SendsCodes => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Telephony:Telnyx:WebhookPublicKey"] = Reports.PublicKey,
        ["Profiles:default:Fallback"] = "SmsThenCall",
    };

    private async Task<(string UserId, string MessageId)> FailedSmsAsync()
    {
        var user = await Flows.EnablePhoneAsync(Client, Telnyx, "signed");
        var sent = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms" });
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        return (user.UserId, TelnyxReports.LastMessageIdTo(Telnyx, user.Phone));
    }

    private async Task<int> SmsFailedCountAsync(string userId)
    {
        var events = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor/events?limit=50");
        return events.GetProperty("items").EnumerateArray().Count(e => e.GetProperty("type").GetString() == "sms_failed");
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        using var anonymous = App.CreateClient();
        return await anonymous.SendAsync(request);
    }

    [Test]
    public async Task A_valid_signature_is_accepted_and_a_replay_is_applied_once()
    {
        var (userId, messageId) = await FailedSmsAsync();
        var body = TelnyxReports.Finalized(messageId, "delivery_failed");

        var first = await SendAsync(Reports.Request(body, Now));
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await first.Content.ReadAsStringAsync());
        App.Time.Advance(TimeSpan.FromMinutes(1));
        var replayed = await SendAsync(Reports.Request(body, Now - TimeSpan.FromMinutes(1))); // the same bytes, headers and signature
        Assert.That(replayed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        Assert.That(await SmsFailedCountAsync(userId), Is.EqualTo(1));
    }

    [Test]
    public async Task Ten_deliveries_of_one_report_at_once_offer_the_call_once()
    {
        var (userId, messageId) = await FailedSmsAsync();
        var body = TelnyxReports.Finalized(messageId, "delivery_failed");

        // Telnyx retries, and its failover URL may reach another instance: each on its own connection.
        var answers = await Race.RunAsync(10, async _ => (await SendAsync(Reports.Request(body, Now))).StatusCode);

        Assert.That(answers, Has.All.EqualTo(HttpStatusCode.NoContent));
        Assert.That(await SmsFailedCountAsync(userId), Is.EqualTo(1));
    }

    [Test]
    public async Task A_wrong_signature_or_a_changed_body_is_401_and_changes_nothing()
    {
        var (userId, messageId) = await FailedSmsAsync();
        var body = TelnyxReports.Finalized(messageId, "delivery_failed");
        var timestamp = Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var stranger = await SendAsync(TelnyxReports.Stranger().Request(body, Now));
        await ProblemAssert.IsProblemAsync(stranger, HttpStatusCode.Unauthorized, "telnyx_signature_invalid");
        var tampered = await SendAsync(TelnyxReports.Unsigned(body.Replace("delivery_failed", "sending_failed"), Reports.Sign(timestamp, body), timestamp));
        await ProblemAssert.IsProblemAsync(tampered, HttpStatusCode.Unauthorized, "telnyx_signature_invalid");
        var otherTime = await SendAsync(TelnyxReports.Unsigned(body, Reports.Sign(timestamp, body), (long.Parse(timestamp) + 1).ToString()));
        await ProblemAssert.IsProblemAsync(otherTime, HttpStatusCode.Unauthorized, "telnyx_signature_invalid");

        Assert.That(await SmsFailedCountAsync(userId), Is.Zero);
        Assert.That((await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor")).GetProperty("fallback").ValueKind,
            Is.EqualTo(JsonValueKind.Null));
    }

    /// <summary>The tolerance (Telephony:Telnyx:WebhookTolerance, 300 s) is inclusive on both sides.</summary>
    [TestCase(-300)]
    [TestCase(300)]
    public async Task A_signature_at_the_edge_of_the_tolerance_is_accepted(int seconds)
    {
        var (userId, messageId) = await FailedSmsAsync();

        var edge = await SendAsync(Reports.Request(TelnyxReports.Finalized(messageId, "delivery_failed"), Now.AddSeconds(seconds)));

        Assert.That(edge.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await edge.Content.ReadAsStringAsync());
        Assert.That(await SmsFailedCountAsync(userId), Is.EqualTo(1));
    }

    [TestCase(-301)]
    [TestCase(301)]
    public async Task A_signature_outside_the_tolerance_is_401_expired(int seconds)
    {
        var (userId, messageId) = await FailedSmsAsync();

        var stale = await SendAsync(Reports.Request(TelnyxReports.Finalized(messageId, "delivery_failed"), Now.AddSeconds(seconds)));

        var problem = await ProblemAssert.IsProblemAsync(stale, HttpStatusCode.Unauthorized, "telnyx_signature_expired");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("300 s"));
        Assert.That(await SmsFailedCountAsync(userId), Is.Zero);
    }

    [TestCase(null, "1772442000")]
    [TestCase("c2lnbmF0dXJl", null)]
    [TestCase("not base64!", "1772442000")]
    [TestCase("c2lnbmF0dXJl", "1772442000")] // base64, but not 64 bytes
    [TestCase("c2lnbmF0dXJl", "yesterday")]
    public async Task A_missing_or_malformed_signature_is_400(string? signature, string? timestamp)
    {
        var response = await SendAsync(TelnyxReports.Unsigned(TelnyxReports.Finalized("msg-1", "delivery_failed"), signature, timestamp));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "telnyx_signature_missing");
    }

    [Test]
    public async Task An_api_key_is_neither_needed_nor_enough()
    {
        var body = TelnyxReports.Finalized("msg-" + Guid.NewGuid(), "delivered");
        var withKey = await Client.SendAsync(TelnyxReports.Unsigned(body, null, null));
        await ProblemAssert.IsProblemAsync(withKey, HttpStatusCode.BadRequest, "telnyx_signature_missing");
        var signed = await SendAsync(Reports.Request(body, Now));
        Assert.That(signed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
    }

    [TestCase("not json")]
    [TestCase("[]")]
    [TestCase("""{"data":{"event_type":"message.finalized"}}""")]
    public async Task A_signed_body_that_is_not_a_telnyx_event_is_400_never_500(string body)
    {
        var response = await SendAsync(Reports.Request(body, Now));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "invalid_json");
    }

    /// <summary>A report whose id is a number and whose <c>to</c> is no list: read as an unknown message (ids are read from
    /// numbers too), acknowledged and changes nothing; never a 500.</summary>
    [Test]
    public async Task A_signed_report_of_odd_shape_for_no_message_of_ours_is_acknowledged()
    {
        var response = await SendAsync(Reports.Request("""{"data":{"event_type":"message.finalized","payload":{"id":7,"to":"x"}}}""", Now));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public void The_webhook_event_carries_the_offer_and_the_profile_never_the_message_id()
    {
        EventProfile.Current = "acme";
        try
        {
            var events = WebhookEvents.FromAudit(new AuditEvent.SmsFailed("login", "delivery_failed", "msg-secret-id", "call"), "ann", null,
                DateTimeOffset.UnixEpoch);
            var data = JsonDocument.Parse(events.Single().Body).RootElement.GetProperty("data");
            Assert.That(events.Single().Type, Is.EqualTo("two_factor.sms_failed"));
            Assert.That(data.GetProperty("fallbackOffered").GetString(), Is.EqualTo("call"));
            Assert.That(data.GetProperty("purpose").GetString(), Is.EqualTo("login"));
            Assert.That(data.GetProperty("profile").GetString(), Is.EqualTo("acme"));
            Assert.That(data.ToString(), Does.Not.Contain("msg-secret-id"));
        }
        finally
        {
            EventProfile.Current = null;
        }
    }
}
