using System.Text.Json;
using System.Xml.Linq;
using AuthService.Api.Telephony;

namespace AuthService.Tests.Telephony;

public class TelnyxRequestTests
{
    private TelephonyHarness _harness = null!;

    [SetUp]
    public void SetUp() => _harness = TelephonyHarness.Start();

    [TearDown]
    public void TearDown() => _harness.Dispose();

    [Test]
    public async Task Sms_is_posted_to_messages_with_bearer_token_and_json_body()
    {
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.MessageAccepted("msg-77"));

        var receipt = await _harness.SendAsync(TelephonyHarness.Sms());

        Assert.That(receipt, Is.EqualTo(new DeliveryReceipt("telnyx", "msg-77")));
        var request = _harness.Requests(_harness.MessagesPath).Single().RequestMessage;
        Assert.That(request.Method, Is.EqualTo("POST"));
        Assert.That(request.Headers!["Authorization"].Single(), Is.EqualTo("Bearer " + TelephonyHarness.ApiKey));
        Assert.That(request.Headers["Content-Type"].Single(), Does.StartWith("application/json"));
        using var body = JsonDocument.Parse(request.Body!);
        var fields = body.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.That(fields, Is.EqualTo(new Dictionary<string, string?>
        {
            ["from"] = TelephonyHarness.FromNumber,
            ["to"] = TelephonyHarness.Phone,
            ["text"] = "Your Acme verification code is 482913. It expires in 10 minutes.",
        }));
    }

    /// <summary>A deployment that offers calls needs FromNumber (the caller id); with <c>NumberPool</c> its SMS still go through the
    /// messaging profile's pool. The from number always won, so the pool SCALING.md recommends for volume could not be used
    /// with calls; without <c>NumberPool</c> it still pins the sender, as before.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task Sms_use_the_number_pool_when_asked_even_where_a_from_number_is_set_for_calls(bool pool)
    {
        _harness.Dispose();
        _harness = TelephonyHarness.Start(s =>
        {
            s["Telephony:Telnyx:MessagingProfileId"] = "profile-9";
            s["Telephony:Telnyx:NumberPool"] = pool ? "true" : "false";
        });
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.MessageAccepted());

        await _harness.SendAsync(TelephonyHarness.Sms());

        using var body = JsonDocument.Parse(_harness.Requests(_harness.MessagesPath).Single().RequestMessage.Body!);
        Assert.That(body.RootElement.TryGetProperty("messaging_profile_id", out var profile) ? profile.GetString() : null, Is.EqualTo(pool ? "profile-9" : null));
        Assert.That(body.RootElement.TryGetProperty("from", out var from) ? from.GetString() : null, Is.EqualTo(pool ? null : TelephonyHarness.FromNumber));
    }

    [Test]
    public async Task Sms_uses_the_messaging_profile_when_no_from_number_is_configured()
    {
        _harness.Dispose();
        _harness = TelephonyHarness.Start(s =>
        {
            s["Telephony:Telnyx:FromNumber"] = null;
            s["Telephony:Telnyx:MessagingProfileId"] = "profile-9";
        });
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.MessageAccepted());

        await _harness.SendAsync(TelephonyHarness.Sms());

        using var body = JsonDocument.Parse(_harness.Requests(_harness.MessagesPath).Single().RequestMessage.Body!);
        Assert.That(body.RootElement.GetProperty("messaging_profile_id").GetString(), Is.EqualTo("profile-9"));
        Assert.That(body.RootElement.TryGetProperty("from", out _), Is.False);
    }

    /// <summary>contracts/telnyx/telnyx-v2-subset.yml, CreateMessageRequest.messaging_profile_id: "Required if sending via number
    /// pool or with an alphanumeric sender ID". Prism cannot check it (the rule is in a description): without it Telnyx refuses
    /// every SMS of a deployment whose FromNumber is a sender id. A number or a short code pins the sender alone.</summary>
    [TestCase("Acme", "profile-9")]
    [TestCase("Acme 2FA", "profile-9")]
    [TestCase("12345", null)]
    public async Task An_sms_from_an_alphanumeric_sender_id_carries_its_messaging_profile(string from, string? expectedProfile)
    {
        _harness.Dispose();
        _harness = TelephonyHarness.Start(s =>
        {
            s["Telephony:Telnyx:FromNumber"] = from;
            s["Telephony:Telnyx:MessagingProfileId"] = "profile-9";
            s["Telephony:Telnyx:AccountSid"] = null; // calls need a number as caller id (AddTelephonyTests)
        });
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.MessageAccepted());

        await _harness.SendAsync(TelephonyHarness.Sms());

        using var body = JsonDocument.Parse(_harness.Requests(_harness.MessagesPath).Single().RequestMessage.Body!);
        Assert.That(body.RootElement.GetProperty("from").GetString(), Is.EqualTo(from));
        Assert.That(body.RootElement.TryGetProperty("messaging_profile_id", out var profile) ? profile.GetString() : null,
            Is.EqualTo(expectedProfile));
    }

    [Test]
    public async Task Call_is_a_TeXML_call_under_the_account_sid_with_inline_script()
    {
        _harness.Respond(_harness.CallsPath, TelephonyHarness.CallAccepted("v3:abc"));

        var receipt = await _harness.SendAsync(TelephonyHarness.Call());

        Assert.That(receipt, Is.EqualTo(new DeliveryReceipt("telnyx", "v3:abc")));
        var request = _harness.Requests(_harness.CallsPath).Single().RequestMessage;
        Assert.That(request.Headers!["Authorization"].Single(), Is.EqualTo("Bearer " + TelephonyHarness.ApiKey));
        Assert.That(request.Headers["Content-Type"].Single(), Does.StartWith("application/json"));
        using var body = JsonDocument.Parse(request.Body!);
        var root = body.RootElement;
        Assert.That(root.GetProperty("To").GetString(), Is.EqualTo(TelephonyHarness.Phone));
        Assert.That(root.GetProperty("From").GetString(), Is.EqualTo(TelephonyHarness.FromNumber));
        Assert.That(root.GetProperty("ApplicationSid").GetString(), Is.EqualTo(TelephonyHarness.ApplicationId));
        Assert.That(root.TryGetProperty("Url", out _), Is.False, "Url and Texml are mutually exclusive in the spec");
        var texml = XDocument.Parse(root.GetProperty("Texml").GetString()!);
        var says = texml.Root!.Elements("Say").Select(e => e.Value).ToList();
        Assert.That(says, Has.Count.EqualTo(2));
        Assert.That(says, Has.All.Contains("4, 8, 2, 9, 1, 3"));
    }

    [Test]
    public async Task Call_without_a_sid_in_the_answer_still_succeeds_without_provider_id()
    {
        _harness.Respond(_harness.CallsPath, WireMock.ResponseBuilders.Response.Create().WithStatusCode(200)
            .WithBody("""{"from":"+13120001234","status":"queued","to":"+13121230000"}"""));

        var receipt = await _harness.SendAsync(TelephonyHarness.Call());

        Assert.That(receipt, Is.EqualTo(new DeliveryReceipt("telnyx", null)));
    }

    [Test]
    public async Task Call_without_voice_settings_is_refused_without_contacting_Telnyx()
    {
        _harness.Dispose();
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:AccountSid"] = null);

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Call()));

        Assert.That(ex!.Transient, Is.False);
        Assert.That(_harness.Server.LogEntries.Count(), Is.EqualTo(0));
    }
}
