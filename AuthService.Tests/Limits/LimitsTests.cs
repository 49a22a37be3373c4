using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Limits;

/// <summary>The abuse limits at their boundaries, with the portal's exact messages and Retry-After, the window
/// rolling forward on a fake clock, and exactness under concurrency and across two instances.</summary>
public class LimitsTests : AppFixture
{
    protected override bool SendsCodes => true;

    private const string DailyMessage = "You have exceeded the maximum number of allowed requests.";
    private const string AttemptsMessage = "You have exceeded the number of log in attempts allowed. Please wait a minute then try again.";

    // The series OPERATIONS.md's alerts read (GET /metrics).
    private const string Lockouts = "authservice_lockouts_total";
    private const string AttemptsLimitHits = "authservice_limit_hits_total{limit=\"attempts_per_minute\"}";
    private const string DailyLimitHits = "authservice_limit_hits_total{limit=\"daily_requests\"}";
    private const string UnconfirmedLimitHits = "authservice_limit_hits_total{limit=\"unconfirmed_number_daily\"}";

    private async Task<(string UserId, string Phone)> EnablePhoneAsync(AuthApp? app = null, string? phone = null)
    {
        app ??= App;
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId("limits");
        phone ??= PhoneFactorTests.NewPhone();
        (await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" }))
            .EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(phone) }))
            .EnsureSuccessStatusCode();
        return (userId, phone);
    }

    private static Task<HttpResponseMessage> Challenge(HttpClient client, string userId) =>
        client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel = "sms" });

    /// <summary>The details of the user's newest <c>rate_limited</c> audit event.</summary>
    private async Task<JsonElement> LastRateLimitedAsync(string userId)
    {
        var events = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor/events?limit=50");
        return events.GetProperty("items").EnumerateArray().First(e => e.GetProperty("type").GetString() == "rate_limited").GetProperty("details");
    }

    [Test]
    public async Task Exactly_ten_deliveries_a_day_then_429_with_the_portal_message_until_the_window_rolls()
    {
        var user = await EnablePhoneAsync(); // the enrollment SMS was delivery 1
        var first = Now;
        for (var i = 2; i <= 10; i++)
        {
            App.Time.Advance(TimeSpan.FromMinutes(1));
            Assert.That((await Challenge(Client, user.UserId)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), $"delivery {i}");
        }

        var before = await Scrape.TakeAsync(App);
        var refused = await Challenge(Client, user.UserId);
        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo(DailyMessage));
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, DailyLimitHits), Is.EqualTo(1), "the refusal is a limit hit");
            Assert.That(after.Since(before, "authservice_code_deliveries_total{channel=\"sms\",outcome=\"rate_limited\"}"), Is.EqualTo(1));
        });
        var retryAfter = (int)refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds;
        Assert.That(retryAfter, Is.EqualTo((int)(first.AddHours(24) - Now).TotalSeconds));
        Assert.That(problem.GetProperty("retryAfter").GetInt32(), Is.EqualTo(retryAfter));
        // The refused challenge's event names the factor the code was for (DESIGN §9.2), as its webhook does.
        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor");
        var limited = await LastRateLimitedAsync(user.UserId);
        Assert.That(limited.GetProperty("limit").GetString(), Is.EqualTo("daily_requests"));
        Assert.That(limited.GetProperty("factorId").GetString(), Is.EqualTo(status.GetProperty("factors")[0].GetProperty("id").GetString()));

        App.Time.Advance(TimeSpan.FromSeconds(retryAfter - 1));
        await ProblemAssert.IsProblemAsync(await Challenge(Client, user.UserId), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        App.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.That((await Challenge(Client, user.UserId)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the oldest delivery left the window");
    }

    /// <summary>DESIGN §4: at most 10 a day per phone number, however many users confirmed it. Two users who both confirmed the
    /// number share its budget, so the refusal comes from the number while each user has budget left of their own (every other
    /// test reaches a user's 10 first, so none could tell the number's budget from the user's).</summary>
    [Test]
    public async Task Users_who_confirmed_the_same_number_share_its_ten_a_day()
    {
        var phone = PhoneFactorTests.NewPhone();
        var x = await EnablePhoneAsync(phone: phone); // each enrollment SMS was a send to a number its user had not confirmed yet
        var y = await EnablePhoneAsync(phone: phone);
        for (var i = 1; i <= 10; i++)
        {
            App.Time.Advance(TimeSpan.FromMinutes(1));
            var sender = i <= 5 ? x.UserId : y.UserId;
            Assert.That((await Challenge(Client, sender)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), $"confirmed send {i}");
        }

        foreach (var (userId, sent) in new[] { (x.UserId, 6), (y.UserId, 6) })
        {
            var problem = await ProblemAssert.IsProblemAsync(await Challenge(Client, userId), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
            Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo(DailyMessage));
            var limited = await LastRateLimitedAsync(userId);
            Assert.That((limited.GetProperty("limit").GetString(), limited.GetProperty("scope").GetString()),
                Is.EqualTo(("daily_requests", "phone_number")), $"the number's budget, with {sent} of the user's 10 used");
        }

        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(12), "two enrollments and ten confirmed sends");
    }

    /// <summary>A refused send answers the later of the two waits when both the user's and the number's budgets are spent
    /// (PhoneDeliveries.TryReserveAsync): the user's own window would free a send a minute before the number's does, so an
    /// answer of the user's wait sends the client back a minute early, to another 429. A user with budget left of their own is
    /// told the number's wait. Both windows then roll forward at exactly the time told.</summary>
    [Test]
    public async Task A_refusal_by_the_numbers_budget_tells_the_numbers_wait_even_when_the_users_ends_sooner()
    {
        var phone = PhoneFactorTests.NewPhone();
        var x = await EnablePhoneAsync(phone: phone); // X's delivery 1 (not one of the number's confirmed sends)
        var xFirst = Now;
        var y = await EnablePhoneAsync(phone: phone);
        App.Time.Advance(TimeSpan.FromMinutes(1));
        var numberFirst = Now;
        for (var i = 1; i <= 10; i++)
        {
            // X sends 9 (its deliveries 2..10), Y the number's 10th: both X's budget and the number's are spent.
            var sender = i <= 9 ? x.UserId : y.UserId;
            Assert.That((await Challenge(Client, sender)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), $"confirmed send {i}");
            App.Time.Advance(TimeSpan.FromMinutes(1));
        }

        var numberWait = (int)(numberFirst.AddHours(24) - Now).TotalSeconds;
        Assert.That((int)(xFirst.AddHours(24) - Now).TotalSeconds, Is.EqualTo(numberWait - 60), "X's own window frees a send a minute sooner");
        foreach (var (userId, scope) in new[] { (x.UserId, "user"), (y.UserId, "phone_number") })
        {
            var refused = await Challenge(Client, userId);
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
            Assert.That(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, Is.EqualTo(numberWait), $"{scope}: the number's wait");
            Assert.That(problem.GetProperty("retryAfter").GetInt32(), Is.EqualTo(numberWait));
            Assert.That((await LastRateLimitedAsync(userId)).GetProperty("scope").GetString(), Is.EqualTo(scope));
        }

        // At the user's own wait X's window has room, the number's not yet; one second before the number's, still refused.
        App.Time.Advance(TimeSpan.FromSeconds(numberWait - 60));
        var early = await Challenge(Client, x.UserId);
        await ProblemAssert.IsProblemAsync(early, HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        Assert.That(early.Headers.RetryAfter!.Delta!.Value.TotalSeconds, Is.EqualTo(60), "only the number's wait is left");
        Assert.That((await LastRateLimitedAsync(x.UserId)).GetProperty("scope").GetString(), Is.EqualTo("phone_number"));
        App.Time.Advance(TimeSpan.FromSeconds(59));
        await ProblemAssert.IsProblemAsync(await Challenge(Client, y.UserId), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        App.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.That((await Challenge(Client, x.UserId)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the number's oldest send left its window");
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(13), "two enrollments, ten confirmed sends and the one after the wait");
    }

    /// <summary>DESIGN §8.2 (issue 14): before it, ten accounts enrolling one number sent it ten codes and used up its
    /// owner's budget. Sends to a number nobody confirmed share the small "unconfirmed" budget of 3 a day.</summary>
    [Test]
    public async Task Sends_to_an_unconfirmed_number_share_a_budget_of_three_across_users()
    {
        var phone = PhoneFactorTests.NewPhone();
        for (var i = 0; i < 3; i++)
        {
            var userId = AuthApp.NewUserId("shared-phone");
            var response = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), $"user {i}");
        }

        var fourthUser = AuthApp.NewUserId();
        var before = await Scrape.TakeAsync(App);
        var fourth = await Client.PostAsJsonAsync($"/v1/users/{fourthUser}/two-factor/enroll",
            new { method = "phone", phoneNumber = phone, channel = "call" });
        var problem = await ProblemAssert.IsProblemAsync(fourth, HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo(DailyMessage));
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(3));
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, UnconfirmedLimitHits), Is.EqualTo(1), "the number's unconfirmed budget refused it");
            Assert.That(after.Since(before, DailyLimitHits), Is.Zero, "not the user's daily budget: the user has sent nothing");
            Assert.That(after.Since(before, "authservice_code_deliveries_total{channel=\"call\",outcome=\"rate_limited\"}"), Is.EqualTo(1));
        });
        var limited = await LastRateLimitedAsync(fourthUser);
        Assert.That(limited.GetProperty("limit").GetString(), Is.EqualTo("unconfirmed_number_daily"));
        Assert.That(limited.TryGetProperty("factorId", out _), Is.False, "an enrollment refused before its pending row was kept names no factor");
    }

    [Test]
    public async Task Thirty_parallel_challenges_with_a_budget_of_ten_deliver_exactly_ten()
    {
        var user = await EnablePhoneAsync();
        var before = Telnyx.DeliveriesTo(user.Phone).Count; // 1: the enrollment code
        var clients = Enumerable.Range(0, 30).Select(_ => App.AdminClient()).ToArray();

        var responses = await Race.RunAsync(30, i => Challenge(clients[i], user.UserId),
            i => clients[i].GetAsync($"/v1/users/{user.UserId}/two-factor"));

        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Accepted), Is.EqualTo(10 - before));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(30 - (10 - before)));
        Assert.That(Telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(10));
    }

    [Test]
    public async Task Two_instances_on_one_database_share_the_daily_budget_exactly()
    {
        using var second = new AuthApp(Telnyx.Settings);
        second.Time.SetUtcNow(Now);
        var user = await EnablePhoneAsync();
        var clients = Enumerable.Range(0, 30).Select(i => (i % 2 == 0 ? App : second).AdminClient()).ToArray();

        var responses = await Race.RunAsync(30, i => Challenge(clients[i], user.UserId),
            i => clients[i].GetAsync($"/v1/users/{user.UserId}/two-factor"));

        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Accepted), Is.EqualTo(9));
        Assert.That(Telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(10));
    }

    [Test]
    public async Task Five_failures_a_minute_then_even_the_right_code_gets_429_until_the_minute_rolls()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var firstFailure = Now;
        var before = await Scrape.TakeAsync(App);
        for (var i = 0; i < 5; i++)
        {
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
            App.Time.Advance(TimeSpan.FromSeconds(2));
        }

        var limited = await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) });
        var problem = await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests, "too_many_attempts");
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo(AttemptsMessage));
        Assert.That(limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds, Is.EqualTo((firstFailure.AddSeconds(60) - Now).TotalSeconds));
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, AttemptsLimitHits), Is.EqualTo(1), "the sixth attempt, not the five failures before it");
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"totp\",outcome=\"invalid_code\"}"), Is.EqualTo(5),
                "an attempt refused by the limit is not a verification");
        });

        // Refused until the very second the Retry-After names, accepted at it.
        App.Time.Advance(limited.Headers.RetryAfter!.Delta!.Value - TimeSpan.FromSeconds(1));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) }),
            HttpStatusCode.TooManyRequests, "too_many_attempts");
        App.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Four_failures_leave_the_fifth_attempt_allowed()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        for (var i = 0; i < 4; i++)
        {
            await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" });
        }

        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Parallel_wrong_codes_get_exactly_five_422_and_the_rest_429()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var clients = Enumerable.Range(0, 25).Select(_ => App.AdminClient()).ToArray();
        var responses = await Race.RunAsync(25, i => Flows.VerifyAsync(clients[i], user.UserId, new { code = "000000" }),
            i => clients[i].GetAsync($"/v1/users/{user.UserId}/two-factor"));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(20));
    }

    /// <summary>A TOTP-only user's TOTP codes are decided in the coalesced batch (ProofCheck.DecideTotpBatchAsync), their backup
    /// codes on the single-user path (CodeProofs): both read and write one failure ledger under the user's lock, so wrong codes
    /// of both kinds sent at once get exactly the limit's worth of 422 between them, whichever path decides first.</summary>
    [Test]
    public async Task Parallel_wrong_totp_and_backup_codes_share_the_five_a_minute()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var wrongTotp = ExactLimitsTests.WrongCodes(user.Secret, 15, Now);
        var clients = Enumerable.Range(0, 30).Select(_ => App.AdminClient()).ToArray();
        var responses = await Race.RunAsync(30,
            i => Flows.VerifyAsync(clients[i], user.UserId, i % 2 == 0 ? new { code = wrongTotp[i / 2] } : (object)new { backupCode = "aaaaa-aaaaa" }),
            i => clients[i].GetAsync($"/v1/users/{user.UserId}/two-factor"));
        foreach (var client in clients)
        {
            client.Dispose();
        }

        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(25));
        foreach (var response in responses.Where(r => r.StatusCode == HttpStatusCode.UnprocessableEntity))
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_code");
        }

        await ExactLimitsTests.AssertExactAsync(App.ConnectionString, user.UserId, responses.Select(r => r.StatusCode).ToList(), attemptsPerMinute: 5);
    }

    private async Task FailAsync(string userId, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (i > 0 && i % 5 == 0)
            {
                App.Time.Advance(TimeSpan.FromSeconds(61));
            }

            var response = await Flows.VerifyAsync(Client, userId, new { code = "000000" });
            Assert.That(response.StatusCode, Is.AnyOf(HttpStatusCode.UnprocessableEntity, (HttpStatusCode)423), $"failure {i + 1}");
        }

        App.Time.Advance(TimeSpan.FromSeconds(61));
    }

    /// <summary>Also the lockout metric operators page on, through the coalesced TOTP batch (the common login): one lockout for
    /// the failure that locks, none for the 99 before it or the attempts a locked factor refuses.</summary>
    [Test]
    public async Task Exactly_one_hundred_consecutive_failures_lock_the_factor_until_a_support_reset()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var before = await Scrape.TakeAsync(App);
        await FailAsync(user.UserId, 99);
        Assert.That((await Scrape.TakeAsync(App)).Since(before, Lockouts), Is.Zero, "99 failures lock nothing");
        Assert.That((await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor")).GetProperty("locked").GetBoolean(), Is.False);

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" }), (HttpStatusCode)423, "locked");
        App.Time.Advance(TimeSpan.FromDays(3));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) }),
            (HttpStatusCode)423, "locked");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { backupCode = user.BackupCodes[0] }),
            (HttpStatusCode)423, "locked");
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, Lockouts), Is.EqualTo(1), "one lockout, whatever the locked factor refused after it");
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"totp\",outcome=\"locked\"}"), Is.EqualTo(1),
                "the failure that locked");
        });

        var decision = await (await Client.PostAsJsonAsync("/v1/login-decisions", new { userId = user.UserId, loginMethod = "password" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(decision.GetProperty("locked").GetBoolean(), Is.True);
        var apiKeyLogin = await (await Client.PostAsJsonAsync("/v1/login-decisions", new { userId = user.UserId, loginMethod = "api_key" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(apiKeyLogin.GetProperty("action").GetString(), Is.EqualTo("none"), "API requests are never blocked, even when locked");
        Assert.That(apiKeyLogin.GetProperty("locked").GetBoolean(), Is.False);
    }

    [Test]
    public async Task A_success_resets_the_consecutive_count()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await FailAsync(user.UserId, 99);
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await FailAsync(user.UserId, 99);
        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor");
        Assert.That(status.GetProperty("locked").GetBoolean(), Is.False);
    }

    /// <summary>A confirmed addition is a success too: its wrong codes counted towards the lockout, and its right one did not set
    /// the count back, so a user who mistyped while adding a factor was locked out that many failures early.</summary>
    [Test]
    public async Task A_confirmed_addition_resets_the_consecutive_count()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var added = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/factors",
            new { method = "totp", proof = new { code = Flows.Code(user.Secret, Now) } });
        var body = await added.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var secret = OtpNet.Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        var confirm = $"/v1/users/{user.UserId}/two-factor/factors/{body.GetProperty("factorId").GetGuid()}/confirm";
        for (var i = 0; i < 3; i++)
        {
            await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(confirm, new { code = "000000" }), HttpStatusCode.UnprocessableEntity, "invalid_code");
        }

        Assert.That((await Client.PostAsJsonAsync(confirm, new { code = Flows.Code(secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        App.Time.Advance(TimeSpan.FromSeconds(61));
        await FailAsync(user.UserId, 99);
        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor");
        Assert.That(status.GetProperty("locked").GetBoolean(), Is.False, "99 failures after a success");
    }

    [Test]
    public async Task Support_reset_clears_factor_codes_lockout_and_counters()
    {
        var user = await EnablePhoneAsync();
        for (var i = 0; i < 9; i++)
        {
            (await Challenge(Client, user.UserId)).EnsureSuccessStatusCode();
        }

        for (var i = 0; i < 5; i++)
        {
            await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" });
        }

        await ProblemAssert.IsProblemAsync(await Challenge(Client, user.UserId), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");

        var noReason = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/reset", new { ticket = "T-1" });
        await ProblemAssert.IsProblemAsync(noReason, HttpStatusCode.BadRequest, "validation_failed");

        var reset = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/reset", new { reason = "lost phone", ticket = "SUP-1234" });
        Assert.That(reset.StatusCode, Is.EqualTo(HttpStatusCode.OK), await reset.Content.ReadAsStringAsync());

        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor");
        Assert.Multiple(() =>
        {
            Assert.That(status.GetProperty("enabled").GetBoolean(), Is.False);
            Assert.That(status.GetProperty("backupCodesRemaining").GetInt32(), Is.Zero);
            Assert.That(status.GetProperty("locked").GetBoolean(), Is.False);
            Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });

        // The user's counters are cleared: they can enroll a new phone right away (the old number keeps its own budget).
        var newPhone = PhoneFactorTests.NewPhone();
        var enroll = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/enroll", new { method = "phone", phoneNumber = newPhone, channel = "sms" });
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync());
        var confirm = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(newPhone) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), "no attempt limit carried over");
    }

    [Test]
    public async Task Reset_lifts_a_lockout()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await FailAsync(user.UserId, 100);
        (await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/reset", new { reason = "locked out", ticket = "SUP-2" }))
            .EnsureSuccessStatusCode();
        var again = await Flows.EnableTotpAsync(App, Client, user.UserId);
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(again.Secret, Now) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
    }
}
