using System.Net;
using System.Net.Http.Json;
using AuthService.Api.NumberLookup;
using AuthService.Api.Telephony;
using AuthService.Tests.Infrastructure;
using Polly.CircuitBreaker;

namespace AuthService.Tests.Telephony;

/// <summary>A 503 that Telnyx's open circuit caused says, in its Retry-After, when the circuit may close: while it is open
/// (<c>Telephony:Telnyx:Resilience:CircuitBreakDuration</c>, 30 s by default) every send and lookup fails fast, so the fixed
/// 10 s (30 s for lookups) sent clients back into it.</summary>
public class CircuitRetryAfterTests
{
    [Test]
    public async Task A_send_refused_by_the_open_circuit_is_accepted_once_its_Retry_After_has_passed()
    {
        using var telnyx = new TelnyxStandIn();
        var settings = new Dictionary<string, string?>(telnyx.Settings)
        {
            ["Telephony:Telnyx:Resilience:CircuitMinimumThroughput"] = "2",
        };
        using var app = new AuthApp(settings);
        using var client = app.AdminClient();
        Task<HttpResponseMessage> EnrollAsync() => client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId("circuit")}/two-factor/enroll",
            new { method = "phone", phoneNumber = TwoFactor.PhoneFactorTests.NewPhone(), channel = "sms" });

        telnyx.Fail(503); // nothing sent, transient: two failures of two open the circuit
        for (var i = 0; i < 2; i++)
        {
            var failed = await EnrollAsync();
            await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.ServiceUnavailable, "telephony_unavailable");
        }

        telnyx.Succeed();
        var open = await EnrollAsync();
        await ProblemAssert.IsProblemAsync(open, HttpStatusCode.ServiceUnavailable, "telephony_unavailable");
        var retryAfter = open.Headers.RetryAfter!.Delta!.Value;
        Assert.That(retryAfter, Is.EqualTo(TimeSpan.FromSeconds(30)), "the break's length, the circuit having just opened");

        app.Time.Advance(retryAfter - TimeSpan.FromSeconds(1));
        await ProblemAssert.IsProblemAsync(await EnrollAsync(), HttpStatusCode.ServiceUnavailable, "telephony_unavailable");
        app.Time.Advance(TimeSpan.FromSeconds(1));
        var retried = await EnrollAsync();
        Assert.That(retried.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await retried.Content.ReadAsStringAsync());
    }

    [Test]
    public void Other_failures_keep_their_fixed_wait_and_an_open_circuit_never_shortens_it()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Problems(new HttpRequestException("refused")), Is.EqualTo((10, 30)));
            Assert.That(Problems(new BrokenCircuitException("open", TimeSpan.FromSeconds(44.2))), Is.EqualTo((45, 45)));
            Assert.That(Problems(new BrokenCircuitException("open", TimeSpan.FromSeconds(3))), Is.EqualTo((10, 30)));
            Assert.That(Problems(new BrokenCircuitException("isolated")), Is.EqualTo((10, 30)), "no known end: the fixed wait");
        });
    }

    private static (int? Send, int? Lookup) Problems(Exception inner) => (
        Api.Http.Problems.TelephonyUnavailable(new TelephonyUnavailableException("x", transient: true, inner)).RetryAfterSeconds,
        NumberLookupProblems.Unavailable(inner).RetryAfterSeconds);
}
