using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Passkeys;

/// <summary>The per-minute attempt limit and the lockout count passkey failures like any other (DESIGN §4, §8.1).</summary>
public class PasskeyLimitsTests : PasskeyFixture
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["Limits:LockoutThreshold"] = "8" };

    private async Task FailAsync(string userId, SoftPasskey passkey) =>
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, passkey.Assert(await ChallengeAsync(userId), breakSignature: true)),
            HttpStatusCode.UnprocessableEntity, "invalid_passkey");

    [Test]
    public async Task Five_failed_assertions_in_a_minute_refuse_even_a_right_one()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var before = await Scrape.TakeAsync(App);
        for (var i = 0; i < 5; i++)
        {
            await FailAsync(userId, passkey);
        }

        var limited = await VerifyAsync(userId, passkey.Assert(await ChallengeAsync(userId)));
        var problem = await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests, "too_many_attempts");
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo(
            "You have exceeded the number of log in attempts allowed. Please wait a minute then try again."));
        Assert.That(limited.Headers.RetryAfter, Is.Not.Null);
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, "authservice_limit_hits_total{limit=\"attempts_per_minute\"}"), Is.EqualTo(1), "the sixth attempt");
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"invalid_passkey\"}"), Is.EqualTo(5));
        });

        App.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.That((await VerifyAsync(userId, passkey.Assert(await ChallengeAsync(userId)))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Passkey_and_backup_code_failures_share_one_ledger()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, backupCodes) = await EnablePasskeyAsync(userId);
        for (var i = 0; i < 3; i++)
        {
            await FailAsync(userId, passkey);
        }

        for (var i = 0; i < 2; i++)
        {
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { backupCode = "aaaaa-aaaaa" }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
        }

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { backupCode = backupCodes[0] }),
            HttpStatusCode.TooManyRequests, "too_many_attempts");
    }

    /// <summary>Also the lockout metric, through the single-user path (the TOTP batch's lockout is in LimitsTests).</summary>
    [Test]
    public async Task Consecutive_passkey_failures_lock_the_factor_until_a_support_reset()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var before = await Scrape.TakeAsync(App);
        for (var i = 0; i < 7; i++)
        {
            await FailAsync(userId, passkey);
            App.Time.Advance(TimeSpan.FromSeconds(15)); // stay under the per-minute limit
        }

        var options = await ChallengeAsync(userId);
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, passkey.Assert(options, breakSignature: true)), HttpStatusCode.Locked, "locked");
        App.Time.Advance(TimeSpan.FromMinutes(2));

        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Path(userId, "challenge"), new { channel = "passkey" }),
            HttpStatusCode.Locked, "locked");
        var decision = await JsonAsync(await Client.PostAsJsonAsync("/v1/login-decisions", new { userId, loginMethod = "password" }), HttpStatusCode.OK);
        Assert.That(decision.GetProperty("locked").GetBoolean(), Is.True);
        Assert.That(await EventsAsync(userId), Does.Contain("locked"));
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, "authservice_lockouts_total"), Is.EqualTo(1));
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"locked\"}"), Is.EqualTo(1));
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"invalid_passkey\"}"), Is.EqualTo(7));
        });
    }

    [Test]
    public async Task A_success_resets_the_consecutive_count()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                await FailAsync(userId, passkey);
            }

            Assert.That((await VerifyAsync(userId, passkey.Assert(await ChallengeAsync(userId)))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            App.Time.Advance(TimeSpan.FromSeconds(61));
        }

        Assert.That((await StatusAsync(userId)).GetProperty("locked").GetBoolean(), Is.False, "12 failures, never 8 in a row");
    }

    [Test]
    public async Task Failed_registrations_count_against_the_per_minute_limit()
    {
        var userId = AuthApp.NewUserId();
        using var passkey = new SoftPasskey(Origin, RpId);
        for (var i = 0; i < 5; i++)
        {
            var options = await EnrollOptionsAsync(userId);
            await ProblemAssert.IsProblemAsync(
                await Client.PostAsJsonAsync(Path(userId, "enroll/confirm"), new { credential = passkey.Register(options, rpId: "evil.test") }),
                HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        }

        var last = await EnrollOptionsAsync(userId);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Path(userId, "enroll/confirm"), new { credential = passkey.Register(last) }),
            HttpStatusCode.TooManyRequests, "too_many_attempts");
    }
}
