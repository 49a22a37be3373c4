using System.Net;
using System.Net.Http.Headers;
using System.Text;
using AuthService.Api.Telephony;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.Telephony;

/// <summary>
/// Sends the adapter's real requests to Prism serving Telnyx's spec (scripts/telnyx-contract.sh).
/// Prism answers 422 to anything that breaks the spec, which the adapter turns into an exception,
/// so a receipt proves the request is valid. Needs TELNYX_PRISM_URL; under CI its absence fails.
/// </summary>
[Category("TelnyxContract")]
public class TelnyxContractTests
{
    private string _prismUrl = null!;

    [OneTimeSetUp]
    public void RequirePrism() => _prismUrl = NumberLookup.NumberLookupContractTests.PrismUrl("TELNYX_PRISM_URL");

    [Test]
    public async Task Sms_with_from_number_matches_the_spec()
    {
        using var services = Build(new() { ["Telephony:Telnyx:FromNumber"] = TelephonyHarness.FromNumber });

        var receipt = await Send(services, TelephonyHarness.Sms());

        Assert.That(receipt.Provider, Is.EqualTo("telnyx"));
        Assert.That(receipt.ProviderMessageId, Is.Not.Null.And.Not.Empty);
    }

    [Test]
    public async Task Sms_with_messaging_profile_matches_the_spec()
    {
        using var services = Build(new() { ["Telephony:Telnyx:MessagingProfileId"] = "abc85f64-5717-4562-b3fc-2c9600000000" });

        var receipt = await Send(services, TelephonyHarness.Sms("+447911123456"));

        Assert.That(receipt.ProviderMessageId, Is.Not.Null.And.Not.Empty);
    }

    [Test]
    public async Task TeXML_call_with_inline_script_matches_the_spec()
    {
        using var services = Build(new()
        {
            ["Telephony:Telnyx:FromNumber"] = TelephonyHarness.FromNumber,
            ["Telephony:Telnyx:AccountSid"] = TelephonyHarness.AccountSid,
            ["Telephony:Telnyx:TexmlApplicationId"] = TelephonyHarness.ApplicationId,
        });

        var receipt = await Send(services, TelephonyHarness.Call());

        Assert.That(receipt.Provider, Is.EqualTo("telnyx"));
    }

    [Test]
    public async Task Prism_rejects_a_call_missing_required_fields()
    {
        // Shows the check has teeth: the same endpoint refuses a body without From and ApplicationSid.
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_prismUrl}/texml/Accounts/acct/Calls")
        {
            Content = new StringContent("""{"To":"+13035550123","Texml":"<Response/>"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "contract-test");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
    }

    private ServiceProvider Build(Dictionary<string, string?> settings)
    {
        settings["Telephony:Provider"] = "telnyx";
        settings["Telephony:Telnyx:BaseUrl"] = _prismUrl;
        settings["Telephony:Telnyx:ApiKey"] = "contract-test-key";
        settings["Telephony:Telnyx:Resilience:MaxRetryAttempts"] = "0";
        return TelephonyHarness.BuildServices(settings, "Production", new CapturingLoggerProvider());
    }

    private static Task<DeliveryReceipt> Send(ServiceProvider services, CodeDelivery delivery) =>
        services.GetRequiredService<ITelephonySender>().SendCodeAsync(delivery, CancellationToken.None);
}
