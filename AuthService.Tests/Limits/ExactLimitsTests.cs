using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Limits;

/// <summary>DESIGN §8.1 on one instance: every code checked against a secret is accepted or counted as a failure in the
/// step that checks the per-minute limit and the lockout, an acceptance lands only on the secret it was checked against,
/// and the pending phone enrollment is confirmed only by the code sent to its number.</summary>
public class ExactLimitsTests : AppFixture
{
    protected override bool SendsCodes => true;

    /// <summary>The accept statement on its own (under the user's lock, as every path runs it): its guards hold even for an
    /// acceptance prepared from a read that is stale by now.</summary>
    private async Task<int?> AcceptAsync(AttemptLedger.TotpAcceptance acceptance)
    {
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await AttemptLedger.LockUserAsync(connection, transaction, acceptance.UserId);
        var remaining = await AttemptLedger.TryAcceptTotpStepAsync(connection, transaction, acceptance);
        await transaction.CommitAsync();
        return remaining;
    }

    [Test]
    [Repeat(3)]
    public async Task A_burst_of_wrong_codes_never_lets_the_right_one_in_once_the_limit_is_reached()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var right = Flows.Code(user.Secret, Now);
        var wrong = WrongCodes(user.Secret, 79, Now);
        var clients = Enumerable.Range(0, 80).Select(_ => App.AdminClient()).ToArray();

        // The right code is the last one sent, as the attacker in the issue sent it.
        var statuses = await Race.RunAsync(80,
            async i => (await Flows.VerifyAsync(clients[i], user.UserId, new { code = i == 79 ? right : wrong[i] })).StatusCode,
            i => clients[i].GetAsync($"/v1/users/{user.UserId}/two-factor"));
        foreach (var client in clients)
        {
            client.Dispose();
        }

        await AssertExactAsync(App.ConnectionString, user.UserId, statuses, attemptsPerMinute: 5);
    }

    /// <summary>The audit trail is the order of decisions: no success after the limit was reached, every evaluated code
    /// (a 200 or a 422) recorded once, and every 429 audited as a rate-limit hit without being evaluated.</summary>
    internal static async Task AssertExactAsync(string connectionString, string userId, IReadOnlyList<HttpStatusCode> statuses,
        int attemptsPerMinute)
    {
        Assert.That(statuses.Select(s => (int)s), Has.All.AnyOf(200, 422, 429), "no other answer, no 5xx");
        var events = await EventsSinceEnabledAsync(connectionString, userId);
        var failures = events.Count(e => e == "verification_failed");
        var successes = events.Count(e => e == "verification_succeeded");
        var success = events.IndexOf("verification_succeeded");
        Assert.Multiple(() =>
        {
            Assert.That(statuses.Count(s => s == HttpStatusCode.OK), Is.AtMost(1), "one right code, one success at most");
            Assert.That(successes, Is.EqualTo(statuses.Count(s => s == HttpStatusCode.OK)), "each 200 has its audit event");
            Assert.That(failures, Is.EqualTo(statuses.Count(s => s == HttpStatusCode.UnprocessableEntity)), "each 422 is a recorded failure");
            Assert.That(failures + successes, Is.EqualTo(statuses.Count(s => s is HttpStatusCode.OK or HttpStatusCode.UnprocessableEntity)),
                "failures recorded + successes = codes evaluated");
            Assert.That(failures, Is.AtMost(attemptsPerMinute), "no more failures than the limit in the minute");
            Assert.That(events.Count(e => e == "rate_limited"), Is.EqualTo(statuses.Count(s => s == HttpStatusCode.TooManyRequests)),
                "every 429 is audited as a rate-limit hit");
            if (success >= 0)
            {
                Assert.That(events.Take(success).Count(e => e == "verification_failed"), Is.LessThan(attemptsPerMinute),
                    "the success was decided while fewer than the limit of failures were on record");
            }
        });
    }

    /// <summary>The user's audit event types since the factor was enabled, in the order they were decided.</summary>
    internal static async Task<List<string>> EventsSinceEnabledAsync(string connectionString, string userId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        var events = (await connection.QueryAsync<string>("select event_type from audit_events where user_id = @userId order by id",
            new { userId })).ToList();
        return events.Skip(events.LastIndexOf("enrollment_confirmed") + 1).ToList();
    }

    [Test]
    public async Task An_acceptance_read_before_the_limit_was_reached_is_refused_after_it()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var acceptance = await AcceptanceAsync(user.UserId, StepOf(Now));
        for (var i = 0; i < 5; i++)
        {
            Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = WrongCodes(user.Secret, 1, Now)[0] })).StatusCode,
                Is.EqualTo(HttpStatusCode.UnprocessableEntity));
        }

        Assert.That(await AcceptAsync(acceptance), Is.Null, "five failures are on record now: the right code must wait");
        App.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.That(await AcceptAsync(acceptance with { Now = Now, FailuresSince = Now.AddMinutes(-1) }), Is.EqualTo(10),
            "the same step once the minute has passed");
    }

    [Test]
    public async Task An_acceptance_checked_against_the_old_secret_does_not_land_on_the_new_one()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var oldSecretCode = await AcceptanceAsync(user.UserId, StepOf(Now) + 1); // read before the switch

        var start = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "totp", accountName = "ann@example.com", proof = new { code = Flows.Code(user.Secret, Now) } });
        var body = await start.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var newSecret = OtpNet.Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var confirm = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method/confirm",
            new { code = Flows.Code(newSecret, Now) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        Assert.That(await AcceptAsync(oldSecretCode with { Step = StepOf(Now) + 1 }), Is.Null,
            "checked against the old seed, refused by the new factor");
        App.Time.Advance(TimeSpan.FromSeconds(30));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(newSecret, Now) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_switch_racing_logins_never_accepts_an_old_seed_code_after_it_is_confirmed()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var start = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "totp", proof = new { backupCode = user.BackupCodes[0] } });
        var newSecret = OtpNet.Base32Encoding.ToBytes((await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!);
        var oldCode = Flows.Code(user.Secret, Now);
        // Four logins (one success, three replays) stay under the per-minute limit, so the confirmation is never refused.
        var clients = Enumerable.Range(0, 5).Select(_ => App.AdminClient()).ToArray();

        var responses = await Race.RunAsync(5, async i => i == 0
            ? await clients[i].PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method/confirm", new { code = Flows.Code(newSecret, Now) })
            : await Flows.VerifyAsync(clients[i], user.UserId, new { code = oldCode }));

        Assert.That(responses[0].StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        var order = (await connection.QueryAsync<string>(
            "select event_type from audit_events where user_id = @u and event_type in ('method_switched', 'verification_succeeded') order by id",
            new { u = user.UserId })).ToList();
        Assert.That(order.Skip(order.IndexOf("method_switched") + 1), Has.None.EqualTo("verification_succeeded"),
            "no old-seed login is recorded after the switch");
        Assert.That(responses.Skip(1).Count(r => r.StatusCode == HttpStatusCode.OK), Is.AtMost(1), "one step, one login");
    }

    [Test]
    public async Task Overlapping_phone_enrollments_are_confirmed_only_by_the_code_sent_to_the_pending_number()
    {
        var userId = AuthApp.NewUserId("overlap");
        var (numberA, numberB) = (PhoneFactorTests.NewPhone(), PhoneFactorTests.NewPhone());
        using var held = Telnyx.Hold(numberA);
        var enrollA = Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = numberA, channel = "sms" });
        if (await Task.WhenAny(held.Arrived.Task, enrollA).WaitAsync(TimeSpan.FromSeconds(20)) == enrollA)
        {
            Assert.Fail("enrollment A was answered without waiting for the provider: " + await (await enrollA).Content.ReadAsStringAsync());
        }

        App.Time.Advance(TimeSpan.FromMilliseconds(100));
        var enrollB = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = numberB, channel = "sms" });
        Assert.That(enrollB.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        held.Open();
        // A stored nothing (B, started later, stands), so it says so instead of answering 202 for a pending number that is not.
        await ProblemAssert.IsProblemAsync(await enrollA, HttpStatusCode.Conflict, "factor_changed");

        var confirm = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(numberB) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());
        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor");
        Assert.That(status.GetProperty("phoneNumber").GetString(), Does.EndWith(numberB[^4..]), "B's code enabled B's number, never A's");
    }

    [Test]
    public async Task A_code_sent_to_a_replaced_pending_number_does_not_confirm_the_new_one()
    {
        var userId = AuthApp.NewUserId("replaced");
        var (numberA, numberB) = (PhoneFactorTests.NewPhone(), PhoneFactorTests.NewPhone());
        await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = numberA, channel = "sms" });
        var codeA = Telnyx.LastCodeTo(numberA);

        // B's enrollment is pending, but A's code is the live one (as an interleaving of two requests could leave it): A's own
        // row, put back as it was stored, so its code matches its hash and only its binding to A's pending row (the code's factor
        // and id are that row's; PhoneMethod.CheckPendingCodeAsync) can refuse it. It used to change the row's id, which broke
        // the hash, so the test passed whatever the binding did.
        var saved = "saved_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(App.ConnectionString))
        {
            await connection.ExecuteAsync($"create table {saved} as select * from phone_codes where user_id = @userId", new { userId });
        }

        App.Time.Advance(TimeSpan.FromSeconds(1));
        await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = numberB, channel = "sms" });
        await using (var connection = new NpgsqlConnection(App.ConnectionString))
        {
            await connection.ExecuteAsync(
                $"delete from phone_codes where user_id = @userId; insert into phone_codes select * from {saved}; drop table {saved};",
                new { userId });
        }

        await ProblemAssert.IsProblemAsync(
            await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(numberB) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(
            await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = codeA }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    private async Task<AttemptLedger.TotpAcceptance> AcceptanceAsync(string userId, long step)
    {
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        var factorId = await connection.ExecuteScalarAsync<Guid>("select factor_id from factors where user_id = @userId", new { userId });
        return new AttemptLedger.TotpAcceptance(userId, factorId, step, Now, Now.AddMinutes(-1), 5, null, "{}");
    }

    private static long StepOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / 30;

    /// <summary>Six-digit codes that match none of the steps around <paramref name="around"/>.</summary>
    internal static string[] WrongCodes(byte[] secret, int count, DateTimeOffset around)
    {
        var near = Enumerable.Range(-10, 30).Select(k => Flows.Code(secret, around.AddSeconds(30 * k))).ToHashSet();
        return Enumerable.Range(0, int.MaxValue).Select(_ => Random.Shared.Next(0, 1_000_000).ToString("D6"))
            .Where(c => !near.Contains(c)).Take(count).ToArray();
    }
}

/// <summary>The burst made deterministic, with a per-minute limit of 1: a guess is in flight (held behind the user's lock,
/// as behind a slow request) when the right code arrives. The right code must not be checked and accepted past it: once
/// the guess is decided the limit is reached, and the right code gets 429. (The unlocked fast path accepted it at once,
/// while every code of a burst was checked and only the limit's worth counted.)</summary>
public class ExactLimitsOrderTests : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Limits:AttemptsPerMinute"] = "1" };

    [Test]
    public async Task A_right_code_arriving_behind_an_undecided_guess_is_decided_after_it()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using var holder = new NpgsqlConnection(App.ConnectionString);
        await holder.OpenAsync();
        var hold = await holder.BeginTransactionAsync();
        await AttemptLedger.LockUserAsync(holder, hold, user.UserId);

        using var guessClient = App.AdminClient();
        var guess = Flows.VerifyAsync(guessClient, user.UserId, new { code = ExactLimitsTests.WrongCodes(user.Secret, 1, Now)[0] });
        await using var observer = new NpgsqlConnection(App.ConnectionString);
        for (var i = 0; i < 800 && await observer.ExecuteScalarAsync<int>(
                 "select count(*) from pg_locks where locktype = 'advisory' and not granted") == 0; i++)
        {
            await Task.Delay(25); // waiting for the guess to reach the user's lock, not for a clock
        }

        using var rightClient = App.AdminClient();
        var right = Flows.VerifyAsync(rightClient, user.UserId, new { code = Flows.Code(user.Secret, Now) });
        var early = await Task.WhenAny(right, Task.Delay(500));
        await hold.RollbackAsync();

        Assert.That(early, Is.Not.SameAs(right), "the right code was answered while the guess was still undecided");
        Assert.That((await guess).StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
        await ProblemAssert.IsProblemAsync(await right, HttpStatusCode.TooManyRequests, "too_many_attempts");
    }
}
