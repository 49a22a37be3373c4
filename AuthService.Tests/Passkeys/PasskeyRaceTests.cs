using System.Net;
using System.Net.Http.Json;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Passkeys;

/// <summary>Single use and the attempt limit hold for passkeys under real concurrent requests (DESIGN §8.1).</summary>
public class PasskeyRaceTests : PasskeyFixture
{
    [Test]
    public async Task One_assertion_raced_ten_times_is_accepted_exactly_once()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var assertion = passkey.Assert(await ChallengeAsync(userId));
        var clients = Enumerable.Range(0, 10).Select(_ => App.AdminClient()).ToArray();
        var responses = await Race.RunAsync(10, i => Post(clients[i], userId, assertion), i => clients[i].GetAsync($"/v1/users/{userId}/two-factor"));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(1));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5), "five counted failures…");
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(4), "…then the per-minute limit");
    }

    [Test]
    public async Task Parallel_bad_assertions_get_exactly_five_422_and_the_rest_429()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var bad = passkey.Assert(await ChallengeAsync(userId), breakSignature: true);
        var clients = Enumerable.Range(0, 20).Select(_ => App.AdminClient()).ToArray();
        var responses = await Race.RunAsync(20, i => Post(clients[i], userId, bad), i => clients[i].GetAsync($"/v1/users/{userId}/two-factor"));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(15));
    }

    /// <summary>DESIGN §9.1: a challenge is stored only if, under the user's lock, its factor still exists. The test holds the
    /// user's lock while a challenge for one passkey is asked, removes that passkey under it (what a removal, switch or reset
    /// does, as one transaction), and lets go: the challenge finds no such factor and stores nothing. It used to read the
    /// user without the lock and store its challenge after the removal had committed, bound to a factor that was gone.</summary>
    [Test]
    public async Task A_challenge_for_a_passkey_removed_while_it_was_asked_stores_nothing()
    {
        var userId = AuthApp.NewUserId();
        await EnablePasskeyAsync(userId);
        var factorId = (await StatusAsync(userId)).GetProperty("factors")[0].GetProperty("id").GetGuid();
        var (connection, removal) = await HoldUserLockAsync(userId);
        await using var _ = connection;

        var challenge = Client.PostAsJsonAsync(Path(userId, "challenge"), new { channel = "passkey", factorId });
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
        await connection.ExecuteAsync("delete from factors where factor_id = @factorId", new { factorId }, removal);
        await removal.CommitAsync();

        var answer = await challenge;
        Assert.That(answer.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK), await answer.Content.ReadAsStringAsync());
        Assert.That(await connection.ExecuteScalarAsync<long>(
            "select count(*) from passkey_challenges where user_id = @userId and ceremony = 'authentication'", new { userId }), Is.Zero);
    }

    /// <summary>A proof's assertion is checked in one transaction and spent with its change in another. Two requests with the
    /// same assertion, both checked before the first spends it (the test holds the user's lock until both wait for it): the
    /// second finds its challenge used when it spends, and answers as a used challenge does at the check,
    /// <c>passkey_challenge_invalid</c>, not the generic <c>invalid_code</c> it used to.</summary>
    [Test]
    public async Task A_proof_assertion_spent_by_another_request_after_both_checks_is_a_used_challenge()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var proof = new { proof = new { credential = passkey.Assert(await ChallengeAsync(userId, "proof")) } };
        var (connection, held) = await HoldUserLockAsync(userId);
        await using var _ = connection;
        using var other = App.AdminClient();

        var first = Client.PostAsJsonAsync(Path(userId, "backup-codes"), proof);
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
        var second = other.PostAsJsonAsync(Path(userId, "backup-codes"), proof);
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 2); // both checks queue for the lock before either spends
        await held.CommitAsync();

        var answers = await Task.WhenAll(first, second);
        Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.Created), Is.EqualTo(1));
        await ProblemAssert.IsProblemAsync(answers.Single(a => a.StatusCode != HttpStatusCode.Created), HttpStatusCode.UnprocessableEntity,
            "passkey_challenge_invalid");
    }

    /// <summary>A proof assertion checked, then overtaken before its spend by a later assertion of the same credential (a login
    /// with a higher counter): the spend finds the counter moved past its own. That is the regression the check refuses and
    /// audits as a possible clone, and now it is answered and audited so at the spend too; it used to be a plain
    /// <c>passkey_challenge_invalid</c>. The test holds the user's lock so that the proof's check, the login and the proof's
    /// spend run in that order.</summary>
    [Test]
    public async Task A_proof_assertion_overtaken_by_a_later_login_of_the_same_passkey_is_a_counter_regression()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var proof = new { proof = new { credential = passkey.Assert(await ChallengeAsync(userId, "proof")) } };
        var login = passkey.Assert(await ChallengeAsync(userId)); // the next counter
        var (connection, held) = await HoldUserLockAsync(userId);
        await using var _ = connection;
        using var other = App.AdminClient();
        var before = await Scrape.TakeAsync(App);

        var change = Client.PostAsJsonAsync(Path(userId, "backup-codes"), proof);
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
        var verify = Post(other, userId, login);
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 2); // the proof's check, then the login, then the proof's spend
        await held.CommitAsync();

        Assert.That((await verify).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await ProblemAssert.IsProblemAsync(await change, HttpStatusCode.UnprocessableEntity, "passkey_counter_regression");
        Assert.That(await EventsAsync(userId), Does.Contain("passkey_counter_regression"), "audited as a possible clone");
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, "authservice_passkey_counter_regressions_total"), Is.EqualTo(1), "counted as the check counts it");
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"passkey_counter_regression\"}"),
                Is.EqualTo(1));
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"success\"}"), Is.EqualTo(1), "the login");
        });
        // The failure row says what the check says of the same refusal (PasskeyFailureTests): its reason and its passkey.
        var page = await JsonAsync(await Client.GetAsync($"/v1/users/{userId}/two-factor/events?limit=200"), HttpStatusCode.OK);
        var failed = page.GetProperty("items").EnumerateArray().First(e => e.GetProperty("type").GetString() == "verification_failed")
            .GetProperty("details");
        Assert.That(failed.GetProperty("reason").GetString(), Is.EqualTo("counter_regression"));
        Assert.That(failed.GetProperty("factorId").GetGuid(), Is.EqualTo((await StatusAsync(userId)).GetProperty("factors")[0].GetProperty("id").GetGuid()));
    }

    /// <summary>The user's lock (the one every decision on the user takes, <see cref="AttemptLedger.LockUserAsync"/>), held in a
    /// transaction of the test's own until it commits, so that requests queue behind it in a known order.</summary>
    private async Task<(NpgsqlConnection Connection, NpgsqlTransaction Held)> HoldUserLockAsync(string userId)
    {
        var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        var held = await connection.BeginTransactionAsync();
        await AttemptLedger.LockUserAsync(connection, held, userId);
        return (connection, held);
    }

    private static Task<HttpResponseMessage> Post(HttpClient client, string userId, object credential) =>
        System.Net.Http.Json.HttpClientJsonExtensions.PostAsJsonAsync(client, $"/v1/users/{userId}/two-factor/verify", new { credential });
}
