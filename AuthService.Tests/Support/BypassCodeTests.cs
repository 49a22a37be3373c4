using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using Dapper;

namespace AuthService.Tests.Support;

/// <summary>Issue 24 point 1–2: support bypass codes — issued (admin), shown once, accepted at /verify under the same limits,
/// lockout and single-use rules as every other code, revoked by DELETE and by a reset.</summary>
public class BypassCodeTests : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Limits:LockoutThreshold"] = "7" };

    internal static string Url(string userId, string rest = "") => $"/v1/users/{userId}/two-factor{rest}";

    internal static async Task<string> IssueAsync(HttpClient admin, string userId, int? uses = null, int? validMinutes = null, string ticket = "SUP-1")
    {
        var response = await admin.PostAsJsonAsync(Url(userId, "/bypass-codes"), new { reason = "lost phone", ticket, uses, validMinutes });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        return body.GetProperty("code").GetString()!;
    }

    private Task<HttpResponseMessage> VerifyAsync(string userId, string bypassCode) => Flows.VerifyAsync(Client, userId, new { bypassCode });

    [Test]
    public async Task A_code_is_nine_digits_shown_once_and_works_once()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var response = await Client.PostAsJsonAsync(Url(user.UserId, "/bypass-codes"), new { reason = "lost phone", ticket = "SUP-1" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var code = body.GetProperty("code").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Does.Match("^[0-9]{3}-[0-9]{3}-[0-9]{3}$"));
            Assert.That(body.GetProperty("uses").GetInt32(), Is.EqualTo(1));
            Assert.That(body.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddMinutes(60)));
        });

        var verified = await VerifyAsync(user.UserId, code.Replace("-", ""));
        var answer = await verified.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK), answer.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(answer.GetProperty("method").GetString(), Is.EqualTo("bypass_code"));
            Assert.That(answer.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(10));
            Assert.That(answer.TryGetProperty("factorId", out _), Is.False, "a bypass code proves the user, not a factor");
        });
        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, code), HttpStatusCode.UnprocessableEntity, "invalid_code");

        await using var connection = await OpenAsync();
        var stored = await connection.QuerySingleAsync<byte[]>("select code_hash from bypass_codes where user_id = @userId", new { userId = user.UserId });
        // The code's digits as stored text would be their ASCII bytes ("123…" → 313233…), which is what to look for in the hash.
        var digits = code.Replace("-", "");
        Assert.That(Convert.ToHexString(stored), Does.Not.Contain(Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(digits))),
            "only a keyed hash is stored");
        Assert.That(stored, Has.Length.EqualTo(32), "an HMAC-SHA256, not the code");
    }

    /// <summary>A remembered browser would skip the second step for 30 days, past the code's own minutes and its revocation: a
    /// bypass login remembers nothing, and the refusal spends nothing.</summary>
    [Test]
    public async Task A_bypass_login_cannot_remember_its_browser_and_the_refusal_spends_nothing()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId);

        await ProblemAssert.IsProblemAsync(
            await Flows.VerifyAsync(Client, user.UserId, new { bypassCode = code, rememberDevice = new { label = "Support laptop" } }),
            HttpStatusCode.BadRequest, "validation_failed");
        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from remembered_devices where user_id = @userId", new { userId = user.UserId }),
            Is.Zero);
        Assert.That((await VerifyAsync(user.UserId, code)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the code was not spent by the refusal");
    }

    /// <summary>A code is the user's it was issued for: at another user's /verify it is a wrong code there (counted like one),
    /// and it still works, once, for its own user.</summary>
    [Test]
    public async Task A_code_works_only_for_the_user_it_was_issued_for()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var bob = await Flows.EnableTotpAsync(App, Client);
        var annsCode = await IssueAsync(Client, ann.UserId, uses: 2);

        await ProblemAssert.IsProblemAsync(await VerifyAsync(bob.UserId, annsCode), HttpStatusCode.UnprocessableEntity, "invalid_code");
        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from verification_failures where user_id = @userId", new { userId = bob.UserId }),
            Is.EqualTo(1), "a failure of the user it was tried on");
        Assert.That(await connection.ExecuteScalarAsync<int>("select uses_left from bypass_codes where user_id = @userId", new { userId = ann.UserId }),
            Is.EqualTo(2), "nothing of it spent");
        Assert.That((await VerifyAsync(ann.UserId, annsCode)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_code_of_three_uses_works_three_times()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId, uses: 3);
        for (var i = 0; i < 3; i++)
        {
            Assert.That((await VerifyAsync(user.UserId, code)).StatusCode, Is.EqualTo(HttpStatusCode.OK), $"use {i + 1}");
        }

        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, code), HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task A_code_expires_after_its_minutes()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var early = await IssueAsync(Client, user.UserId, uses: 2, validMinutes: 5);
        App.Time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.That((await VerifyAsync(user.UserId, early)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "still valid a second before");
        App.Time.Advance(TimeSpan.FromSeconds(1));
        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, early), HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Bad_requests_are_400_and_a_user_without_2fa_409()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        object[] bad =
        [
            new { reason = "r", ticket = "t", uses = 0 }, new { reason = "r", ticket = "t", uses = 11 },
            new { reason = "r", ticket = "t", validMinutes = 4 }, new { reason = "r", ticket = "t", validMinutes = 4321 },
            new { ticket = "t" }, new { reason = "r" }, new { reason = " ", ticket = "t" }, new { reason = "r", ticket = "a\nb" },
            // Invisible only: a zero-width space, a word joiner and a byte order mark are not white space, and show nothing.
            new { reason = "\u200B", ticket = "t" }, new { reason = "r", ticket = "\u2060\uFEFF" },
        ];
        foreach (var body in bad)
        {
            await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/bypass-codes"), body),
                HttpStatusCode.BadRequest, "validation_failed");
        }

        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(AuthApp.NewUserId(), "/bypass-codes"), new { reason = "r", ticket = "t" }),
            HttpStatusCode.Conflict, "two_factor_not_enabled");
        var code = await IssueAsync(Client, user.UserId);
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { bypassCode = code, backupCode = user.BackupCodes[0] }),
            HttpStatusCode.BadRequest, "validation_failed");
        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, "12345678901234567890"), HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task A_user_holds_at_most_100_live_codes_and_a_revocation_frees_them()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        for (var i = 0; i < 100; i++)
        {
            await IssueAsync(Client, user.UserId);
        }

        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/bypass-codes"), new { reason = "r", ticket = "t" }),
            HttpStatusCode.Conflict, "bypass_code_limit_reached");
        var revoked = await Client.DeleteFromJsonAsync<JsonElement>(Url(user.UserId, "/bypass-codes"));
        Assert.That(revoked.GetProperty("revoked").GetInt32(), Is.EqualTo(100));
        await IssueAsync(Client, user.UserId);
    }

    /// <summary>The cap of 100 live codes holds under concurrency: with 98 live, eight issues at once on their own connections
    /// are decided under the user's lock one after the other, so exactly two are issued and six refused. (Three rounds: without
    /// the lock, one round alone passed about one run in two.)</summary>
    [Test]
    public async Task Concurrent_issues_never_pass_the_cap_of_live_codes()
    {
        var clients = Enumerable.Range(0, 8).Select(_ => App.AdminClient()).ToArray();
        for (var round = 0; round < 3; round++)
        {
            var user = await Flows.EnableTotpAsync(App, Client);
            for (var i = 0; i < 98; i++)
            {
                await IssueAsync(Client, user.UserId);
            }

            var answers = await Race.RunAsync(8, i => clients[i].PostAsJsonAsync(Url(user.UserId, "/bypass-codes"), new { reason = "r", ticket = $"t-{i}" }),
                i => clients[i].GetAsync("/v1/api-keys"));

            Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.Created), Is.EqualTo(2), $"round {round}");
            foreach (var refused in answers.Where(a => a.StatusCode != HttpStatusCode.Created))
            {
                await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict, "bypass_code_limit_reached");
            }

            await using var connection = await OpenAsync();
            Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from bypass_codes where user_id = @userId", new { userId = user.UserId }),
                Is.EqualTo(100));
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    [Test]
    public async Task A_revoked_code_is_refused()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId, uses: 5);
        Assert.That((await Client.DeleteFromJsonAsync<JsonElement>(Url(user.UserId, "/bypass-codes"))).GetProperty("revoked").GetInt32(), Is.EqualTo(1));
        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, code), HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task A_reset_revokes_the_codes()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId, uses: 5);
        (await Client.PostAsJsonAsync(Url(user.UserId, "/reset"), new { reason = "lost", ticket = "SUP-2" })).EnsureSuccessStatusCode();
        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<int>("select count(*) from bypass_codes where user_id = @userId", new { userId = user.UserId }),
            Is.Zero);
        await Flows.EnableTotpAsync(App, Client, user.UserId);
        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, code), HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Wrong_codes_hit_the_per_minute_limit_and_the_lockout_like_any_code()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId, uses: 3);
        for (var i = 0; i < 5; i++)
        {
            await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, "000-000-000"), HttpStatusCode.UnprocessableEntity, "invalid_code");
        }

        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, code), HttpStatusCode.TooManyRequests, "too_many_attempts");
        App.Time.Advance(TimeSpan.FromSeconds(61));
        // The limit and the lockout are the user's: wrong TOTP codes count towards what a bypass code meets.
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, "999999999"), HttpStatusCode.Locked, "locked");
        await ProblemAssert.IsProblemAsync(await VerifyAsync(user.UserId, code), HttpStatusCode.Locked, "locked");

        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<int>("select uses_left from bypass_codes where user_id = @userId", new { userId = user.UserId }),
            Is.EqualTo(3), "a refused attempt spends nothing");

        // No code opens a lock, so support is told so instead of being handed one that the user would find refused.
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/bypass-codes"), new { reason = "locked out", ticket = "SUP-3" }),
            HttpStatusCode.Locked, "locked");
        Assert.That(await connection.ExecuteScalarAsync<int>("select count(*) from bypass_codes where user_id = @userId", new { userId = user.UserId }),
            Is.EqualTo(1), "the refusal issued nothing");
        Assert.That(await connection.ExecuteScalarAsync<int>(
            "select count(*) from audit_events where user_id = @userId and event_type = 'bypass_code_issued'", new { userId = user.UserId }), Is.EqualTo(1));
    }

    [Test]
    public async Task A_right_code_resets_the_consecutive_failures()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId);
        for (var i = 0; i < 4; i++)
        {
            await VerifyAsync(user.UserId, "000000000");
        }

        Assert.That((await VerifyAsync(user.UserId, code)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<int>("select failed_consecutive from two_factor_users where user_id = @userId",
            new { userId = user.UserId }), Is.Zero);
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task Concurrent_uses_of_the_last_uses_succeed_exactly_that_many_times(int uses)
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId, uses: uses);
        var clients = Enumerable.Range(0, 8).Select(_ => App.AdminClient()).ToArray();
        var responses = await Race.RunAsync(8, i => Flows.VerifyAsync(clients[i], user.UserId, new { bypassCode = code }),
            i => clients[i].GetAsync(Url(user.UserId)));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(uses));
        Assert.That(responses.Where(r => r.StatusCode != HttpStatusCode.OK).Select(r => r.StatusCode),
            Is.All.AnyOf(HttpStatusCode.UnprocessableEntity, HttpStatusCode.TooManyRequests));
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
