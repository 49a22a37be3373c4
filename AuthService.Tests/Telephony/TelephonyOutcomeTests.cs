using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Telephony;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Telephony;

/// <summary>Issue 14, item 3: a provider that records the SMS and then resets the connection used to get it three times,
/// with nothing counted and the client told nothing was sent. Now: one message, counted, and the client told the outcome
/// is unknown — and since the message may well arrive, its code works.</summary>
public class TelephonyOutcomeTests
{
    private static Dictionary<string, string?> TelnyxAt(string url) => new()
    {
        ["Telephony:Provider"] = "telnyx",
        ["Telephony:Telnyx:BaseUrl"] = url + "/v2",
        ["Telephony:Telnyx:ApiKey"] = "KEY-reset",
        ["Telephony:Telnyx:FromNumber"] = "+13035550100",
        ["Telephony:Telnyx:AccountSid"] = "AC-reset",
        ["Telephony:Telnyx:TexmlApplicationId"] = "texml-app",
        // Retries allowed: the point is that a reset after the request was written is not one of their causes.
        ["Telephony:Telnyx:Resilience:MaxRetryAttempts"] = "2",
        ["Telephony:Telnyx:Resilience:CircuitMinimumThroughput"] = "1000",
    };

    [Test]
    public async Task A_reset_after_the_request_was_sent_delivers_once_counts_and_answers_outcome_unknown()
    {
        using var telnyx = new ResettingServer(resetFirst: 1, okBody: """{"data":{"id":"msg-after-reset"}}""");
        using var app = new AuthApp(TelnyxAt(telnyx.Url));
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId("reset");
        var phone = PhoneFactorTests.NewPhone();

        var enroll = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" })
            .WaitAsync(TimeSpan.FromSeconds(30));

        var problem = await ProblemAssert.IsProblemAsync(enroll, HttpStatusCode.BadGateway, "telephony_outcome_unknown");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Not.Contain("Nothing was sent"));
        Assert.That(telnyx.Requests, Has.Count.EqualTo(1), "exactly one message at the provider");
        await using (var connection = new NpgsqlConnection(app.ConnectionString))
        {
            Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId }),
                Is.EqualTo(1), "the delivery is counted, never refunded");
            var failed = await connection.QuerySingleAsync<string>(
                "select details::text from audit_events where user_id = @userId and event_type = 'code_send_failed'", new { userId });
            Assert.That(failed, Does.Contain("\"mayHaveBeenDelivered\": true"));
        }

        // The message did reach the provider: its code confirms the enrollment.
        var confirm = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm",
            new { code = TelnyxStandIn.CodeIn(telnyx.Bodies.Single()) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());

        // The provider is healthy again: a login code is sent once and answered 202.
        var challenge = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel = "sms" });
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(telnyx.Requests, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_retry_with_the_same_idempotency_key_after_an_unknown_outcome_replays_it_and_sends_nothing()
    {
        using var telnyx = new ResettingServer(resetFirst: 2, okBody: """{"data":{"id":"msg-after-reset"}}""");
        using var app = new AuthApp(TelnyxAt(telnyx.Url));
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId("unknown-key");
        await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = PhoneFactorTests.NewPhone(), channel = "sms" });
        (await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = TelnyxStandIn.CodeIn(telnyx.Bodies.Single()) }))
            .EnsureSuccessStatusCode();

        async Task<HttpResponseMessage> ChallengeAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/users/{userId}/two-factor/challenge")
            {
                Content = JsonContent.Create(new { channel = "sms" }),
            };
            request.Headers.Add("Idempotency-Key", "login-1");
            return await client.SendAsync(request);
        }

        await ProblemAssert.IsProblemAsync(await ChallengeAsync(), HttpStatusCode.BadGateway, "telephony_outcome_unknown");
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(), HttpStatusCode.BadGateway, "telephony_outcome_unknown");
        Assert.That(telnyx.Requests, Has.Count.EqualTo(2), "the enrollment SMS and one login SMS: the retry sent nothing");
    }

    [Test]
    public async Task A_provider_that_refuses_every_connection_sent_nothing_and_the_budget_is_given_back()
    {
        using var telnyx = new ResettingServer(resetFirst: 0, okBody: "{}", listening: false);
        using var app = new AuthApp(new Dictionary<string, string?>(TelnyxAt(telnyx.Url)) { ["Telephony:Telnyx:Resilience:MaxRetryAttempts"] = "0" });
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId("refused");
        var before = await Scrape.TakeAsync(app);

        var enroll = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll",
            new { method = "phone", phoneNumber = PhoneFactorTests.NewPhone(), channel = "call" });

        await ProblemAssert.IsProblemAsync(enroll, HttpStatusCode.ServiceUnavailable, "telephony_unavailable");
        var after = await Scrape.TakeAsync(app);
        Assert.That(after.Since(before, "authservice_code_deliveries_total{channel=\"call\",outcome=\"failed\"}"), Is.EqualTo(1));
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId }), Is.Zero);
    }
}
