using System.Net;
using System.Net.Http.Json;
using AuthService.Api.NumberLookup;
using AuthService.Api.Telephony;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Telephony;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace AuthService.Tests.NumberLookup;

/// <summary>Number Lookup down (issue 25): FailMode closed refuses with 503 <c>number_lookup_unavailable</c> and sends nothing;
/// a lookup that times out is a failure like any other; lookups and sends share one circuit breaker.</summary>
public class NumberLookupFailureTests : AppFixture
{
    protected override bool SendsCodes => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["NumberLookup:Enabled"] = "true",
        ["NumberLookup:FailMode"] = "closed",
        ["Limits:DailyRequests"] = "1",
    };

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    [TestCase(500)]
    [TestCase(401)]
    public async Task Fail_closed_answers_503_with_Retry_After_and_sends_and_counts_nothing(int status)
    {
        var (userId, phone) = (AuthApp.NewUserId("closed"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Fail(Telnyx.Server, phone, status);

        var enroll = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });

        await ProblemAssert.IsProblemAsync(enroll, HttpStatusCode.ServiceUnavailable, "number_lookup_unavailable");
        Assert.That(enroll.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(NumberLookupSettings.RetryAfterSeconds)));
        Assert.That(Telnyx.DeliveriesTo(phone), Is.Empty);
        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId }), Is.Zero);
        var audit = await connection.QuerySingleAsync<string>(
            "select details::text from audit_events where user_id = @userId and event_type = 'number_check_unavailable'", new { userId });
        Assert.That(audit, Does.Contain("\"failMode\": \"closed\"").And.Contain("\"reason\": \"http_error\"").And.Not.Contain(phone[1..]));
    }

    [Test]
    public async Task A_send_the_daily_budget_refuses_costs_no_lookup_and_a_refused_check_gives_its_reservation_back()
    {
        var (userId, first, second) = (AuthApp.NewUserId("budget"), NumberLookupStandIn.NewPhone(), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Fail(Telnyx.Server, first, 500);
        NumberLookupStandIn.Answer(Telnyx.Server, second, "mobile");
        async Task<HttpResponseMessage> Enroll(string phone) =>
            await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });

        await ProblemAssert.IsProblemAsync(await Enroll(first), HttpStatusCode.ServiceUnavailable, "number_lookup_unavailable");
        Assert.That((await Enroll(second)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the refused check gave back the one send of the day");
        await ProblemAssert.IsProblemAsync(await Enroll(NumberLookupStandIn.NewPhone()), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");

        Assert.That(Telnyx.Server.LogEntries.Count(e => e.RequestMessage.Method == "GET"), Is.EqualTo(2), "no lookup for the send the budget refused");
    }

    [Test]
    public async Task A_lookup_that_times_out_is_a_failure_and_nothing_is_sent()
    {
        var (userId, phone) = (AuthApp.NewUserId("slow"), NumberLookupStandIn.NewPhone());
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        Telnyx.Server.Given(Request.Create().UsingGet().WithPath(new WildcardMatcher("/v2/number_lookup/*" + phone[1..]))).AtPriority(-5)
            .RespondWith(Response.Create().WithCallback(_ =>
            {
                arrived.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(20));
                return new WireMock.ResponseMessage { StatusCode = 200 };
            }));

        var enroll = Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        App.Time.Advance(TimeSpan.FromSeconds(2)); // past the 1 s attempt timeout, on the pipeline's (fake) clock
        var answer = await enroll.WaitAsync(TimeSpan.FromSeconds(20));
        release.Set();

        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "number_lookup_unavailable");
        Assert.That(Telnyx.DeliveriesTo(phone), Is.Empty);
        await using var connection = await OpenAsync();
        Assert.That(await connection.QuerySingleAsync<string>(
            "select details->>'reason' from audit_events where user_id = @userId and event_type = 'number_check_unavailable'", new { userId }),
            Is.EqualTo("timeout"));
    }

    [Test]
    public async Task Lookups_and_sends_share_one_circuit_breaker()
    {
        using var telnyx = TelephonyHarness.Start(s =>
        {
            s["Telephony:Telnyx:Resilience:MaxRetryAttempts"] = "0";
            s["Telephony:Telnyx:Resilience:CircuitMinimumThroughput"] = "2";
            s["Telephony:Telnyx:Resilience:CircuitFailureRatio"] = "0.5";
        });
        telnyx.Server.Given(Request.Create().UsingGet()).RespondWith(Response.Create().WithStatusCode(500));
        var lookup = ActivatorUtilities.CreateInstance<TelnyxNumberLookup>(telnyx.Services, NullLogger<TelnyxNumberLookup>.Instance);

        var reasons = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            reasons.Add((await Assert.ThrowsAsync<NumberLookupUnavailableException>(() => lookup.LookUpAsync(TelephonyHarness.Phone, CancellationToken.None)))!.Reason);
        }

        Assert.That(reasons, Is.EqualTo(new[] { "http_error", "http_error", "circuit_open" }));
        var send = (await Assert.ThrowsAsync<TelephonyUnavailableException>(() => telnyx.SendAsync(TelephonyHarness.Sms())))!;
        Assert.That(send.Message, Does.Contain("circuit open"));
        Assert.That(telnyx.Server.LogEntries.Count(e => e.RequestMessage.Method == "POST"), Is.Zero, "the open breaker kept the SMS from Telnyx");
    }

    /// <summary>A lookup answer that stalls after its headers ends at the attempt timeout, a failure like any other (it used to
    /// hold the user's request, whose caller passes no token, for good).</summary>
    [Test]
    public async Task A_lookup_answer_that_stalls_after_its_headers_times_out()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        using var server = new ResettingServer(resetFirst: 0, okBody: """{"data":{"carrier":{"type":"mobile"}}}""", stallAfterHeaders: true);
        var headers = new AttemptProbe();
        using var telnyx = TelephonyHarness.Start(s => s["Telephony:Telnyx:BaseUrl"] = server.Url + "/v2", time, headers.AddTo);
        var lookup = ActivatorUtilities.CreateInstance<TelnyxNumberLookup>(telnyx.Services, NullLogger<TelnyxNumberLookup>.Instance);

        var answer = lookup.LookUpAsync(TelephonyHarness.Phone, CancellationToken.None);
        await headers.HeadersArrived.WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(1)); // the attempt timeout: the body is read inside the pipeline

        var failure = await Assert.ThrowsAsync<NumberLookupUnavailableException>(() => answer.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.That(failure!.Reason, Is.EqualTo("timeout"));
    }
}
