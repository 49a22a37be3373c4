using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.NumberLookup;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace AuthService.Tests.Security;

/// <summary>SECURITY.md: "Only masked numbers are logged". A Number Lookup puts the number in its URL path, and the HttpClient's
/// logging scope (opened whatever the category's level) carried that URI onto every line logged inside the request: Polly's
/// "Execution attempt" at Information on every lookup, its retry, timeout and circuit lines, and the sender's own warnings.
/// With the shipped levels and retries (the stand-in's settings turn retries off), an answered, a retried (503) and a
/// stalled lookup must leave no full number in the log.</summary>
[Category("MultiProcess")]
public class LookupRetryLogTests
{
    [Test]
    public async Task A_retried_or_timed_out_number_lookup_logs_no_full_number_at_default_levels()
    {
        using var telnyx = new TelnyxStandIn();
        var connectionString = TestDatabase.CreateDatabase("lookupretrylog");
        await using var service = await Instances.StartAsync(Instances.Production(connectionString, telnyx, new Dictionary<string, string?>
        {
            ["NumberLookup__Enabled"] = "true",
            // The shipped defaults for retries and the breaker (the stand-in's settings turn them off).
            ["Telephony__Telnyx__Resilience__MaxRetryAttempts"] = "2",
            ["Telephony__Telnyx__Resilience__RetryBaseDelay"] = "00:00:00.050",
            ["Telephony__Telnyx__Resilience__CircuitMinimumThroughput"] = "5",
            ["Telephony__Telnyx__Resilience__AttemptTimeout"] = "00:00:02",
            ["Telephony__Telnyx__Resilience__TotalTimeout"] = "00:00:10",
        }));
        using var admin = service.Client(Instances.AdminKey);
        var retried = PhoneFactorTests.NewPhone();
        var stalled = PhoneFactorTests.NewPhone();
        var answered = PhoneFactorTests.NewPhone();
        NumberLookupStandIn.Answer(telnyx.Server, answered, "mobile");
        NumberLookupStandIn.Fail(telnyx.Server, retried, 503);
        telnyx.Server.Given(Request.Create().UsingGet().WithPath(new WildcardMatcher("/v2/number_lookup/*" + stalled[1..])))
            .AtPriority(-5)
            .RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(4)).WithBody("{}"));

        foreach (var phone in new[] { answered, retried, stalled })
        {
            var userId = AuthApp.NewUserId("lkp");
            var response = await admin.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
            TestContext.Out.WriteLine($"{phone[^4..]} enroll answered {(int)response.StatusCode}");
        }

        // The process's stdout reaches this one through a pipe: wait (bounded) for the failed lookups' own lines (masked), the last.
        static int Failures(string log) => log.Split("Number Lookup for").Length - 1;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Failures(service.Output) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var log = service.Output;
        Assert.That(Failures(log), Is.EqualTo(2), "the retried and the stalled lookup failed");
        Assert.That(log, Does.Contain("Execution attempt"), "the lines that carried the number are there");
        var leaking = log.Split('\n').Where(l => new[] { answered, retried, stalled }.Any(p => l.Contains(p[2..], StringComparison.Ordinal))).ToList();
        foreach (var line in leaking)
            TestContext.Out.WriteLine(line.Length > 1200 ? line[..1200] : line);
        Assert.That(leaking, Is.Empty, "a full phone number in a default-level log line");
    }
}
