using System.Net;
using System.Net.Http.Headers;
using AuthService.Api.NumberLookup;
using AuthService.Tests.Telephony;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuthService.Tests.NumberLookup;

/// <summary>
/// Sends the adapter's real Number Lookup request to Prism serving contracts/telnyx/telnyx-number-lookup.yml (second Prism of
/// scripts/telnyx-contract.sh): Prism answers 422 (or 401 without a Bearer token) to a request that breaks the spec, which the
/// adapter turns into an exception, so an answer proves the request is valid; the answer is the spec's own example, read by the
/// adapter. Needs TELNYX_LOOKUP_PRISM_URL; under CI its absence fails.
/// </summary>
[Category("TelnyxContract")]
public class NumberLookupContractTests
{
    private string _prismUrl = null!;

    [OneTimeSetUp]
    public void RequirePrism() => _prismUrl = PrismUrl("TELNYX_LOOKUP_PRISM_URL");

    /// <summary>The Prism base URL in <paramref name="variable"/> (set by scripts/telnyx-contract.sh); without it the fixture is
    /// ignored, or fails under CI.</summary>
    public static string PrismUrl(string variable)
    {
        var url = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(url))
        {
            var why = $"{variable} is not set; run scripts/telnyx-contract.sh";
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
                Assert.Fail(why);
            Assert.Ignore(why);
        }

        return url!.TrimEnd('/');
    }

    [Test]
    public async Task The_lookup_request_matches_the_spec_and_its_example_answer_is_read()
    {
        using var services = TelephonyHarness.BuildServices(new Dictionary<string, string?>
        {
            ["Telephony:Provider"] = "telnyx",
            ["Telephony:Telnyx:BaseUrl"] = _prismUrl,
            ["Telephony:Telnyx:ApiKey"] = "contract-test-key",
            ["Telephony:Telnyx:FromNumber"] = TelephonyHarness.FromNumber,
            ["Telephony:Telnyx:Resilience:MaxRetryAttempts"] = "0",
        }, "Production", new CapturingLoggerProvider());
        var lookup = ActivatorUtilities.CreateInstance<TelnyxNumberLookup>(services, NullLogger<TelnyxNumberLookup>.Instance);

        var answer = await lookup.LookUpAsync(TelephonyHarness.Phone, CancellationToken.None);

        // The spec's examples: carrier.type voip, portability ported_status Y on 2017-10-20.
        Assert.That(answer, Is.EqualTo(new LookupAnswer("voip", new DateOnly(2017, 10, 20))));
    }

    [Test]
    public async Task Prism_rejects_a_lookup_type_the_spec_does_not_have()
    {
        // Shows the check has teeth: `portability` is not a lookup type (the carrier answer carries it).
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_prismUrl}/number_lookup/%2B13035550123?type=portability");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "contract-test");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
    }
}
