using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Core.Policy;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Policy;

public class LoginPolicyTests
{
    [TestCase("api_key", null, false, "2026-03-02", "none")]
    [TestCase("api_key", "totp", true, "2026-03-02", "none")]
    [TestCase("sso", "totp", false, "2026-03-02", "none")]
    [TestCase("saml", null, false, "2026-03-02", "none")]
    [TestCase("sso", "phone", true, "2026-03-02", "none")] // a locked factor does not stop an SSO login: SSO needs no second factor
    [TestCase("saml", "totp", true, "2026-03-02", "none")]
    [TestCase("password", "totp", false, "2026-03-02", "verify")]
    [TestCase("oauth", "phone", true, "2026-03-02", "verify")]
    [TestCase("password", null, false, "2023-08-07", "enroll_prompt")]
    [TestCase("oauth", null, false, "2023-08-06", "none")]
    [TestCase("oauth", null, false, "2023-08-07", "enroll_prompt")]
    [TestCase("password", "totp", false, "2023-08-06", "verify")] // before the date a user with 2FA is still asked for it
    [TestCase("oauth", "passkey", true, "2023-08-06", "verify")]
    public void Core_policy_decides_every_row(string loginMethod, string? enabled, bool locked, string now, string expected)
    {
        var policy = new LoginPolicy(new DateTimeOffset(2023, 8, 7, 0, 0, 0, TimeSpan.Zero), null);
        var decision = policy.Decide(loginMethod, new UserFactorState(enabled, locked, 0), DateTimeOffset.Parse(now + "T00:00:00Z"));
        Assert.That(decision.Action, Is.EqualTo(expected));
        Assert.That(decision.Locked, Is.EqualTo(expected == "verify" && locked));
    }

    [Test]
    public void Max_skips_limits_can_skip()
    {
        var policy = new LoginPolicy(DateTimeOffset.UnixEpoch, 2);
        var now = DateTimeOffset.UnixEpoch.AddDays(1);
        Assert.That(policy.Decide("password", new UserFactorState(null, false, 1), now).CanSkip, Is.True);
        Assert.That(policy.Decide("password", new UserFactorState(null, false, 2), now).CanSkip, Is.False);
    }

    private static async Task<JsonElement> DecideAsync(HttpClient client, string userId, string loginMethod)
    {
        var response = await client.PostAsJsonAsync("/v1/login-decisions", new { userId, loginMethod });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        return body;
    }

    [Test]
    public async Task Decisions_through_the_api_for_a_user_with_and_without_2fa()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        var user = await Flows.EnableTotpAsync(app, client);
        var newcomer = AuthApp.NewUserId();

        var verify = await DecideAsync(client, user.UserId, "password");
        Assert.That(verify.GetProperty("action").GetString(), Is.EqualTo("verify"));
        Assert.That(verify.GetProperty("method").GetString(), Is.EqualTo("totp"));
        Assert.That(verify.GetProperty("locked").GetBoolean(), Is.False);
        Assert.That((await DecideAsync(client, user.UserId, "oauth")).GetProperty("action").GetString(), Is.EqualTo("verify"));
        Assert.That((await DecideAsync(client, user.UserId, "sso")).GetProperty("action").GetString(), Is.EqualTo("none"));
        Assert.That((await DecideAsync(client, user.UserId, "saml")).GetProperty("action").GetString(), Is.EqualTo("none"));
        Assert.That((await DecideAsync(client, user.UserId, "api_key")).GetProperty("action").GetString(), Is.EqualTo("none"));

        var prompt = await DecideAsync(client, newcomer, "password");
        Assert.That(prompt.GetProperty("action").GetString(), Is.EqualTo("enroll_prompt"));
        Assert.That(prompt.GetProperty("canSkip").GetBoolean(), Is.True);
    }

    [Test]
    public async Task Before_the_enforcement_date_nobody_is_prompted()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Enforcement:StartsAt"] = "2027-01-01T00:00:00Z" });
        using var client = app.AdminClient();
        Assert.That((await DecideAsync(client, AuthApp.NewUserId(), "password")).GetProperty("action").GetString(), Is.EqualTo("none"));

        // The date only starts the prompt: a user who enrolled early is asked for the second factor from the first login.
        var early = await Flows.EnableTotpAsync(app, client);
        foreach (var loginMethod in new[] { "password", "oauth" })
        {
            var decision = await DecideAsync(client, early.UserId, loginMethod);
            Assert.That((decision.GetProperty("action").GetString(), decision.GetProperty("method").GetString()), Is.EqualTo(("verify", "totp")),
                loginMethod);
        }

        app.Time.SetUtcNow(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.That((await DecideAsync(client, AuthApp.NewUserId(), "password")).GetProperty("action").GetString(), Is.EqualTo("enroll_prompt"));
    }

    /// <summary>Before the enforcement date no decision prompts, so a skip has nothing to skip: it used to be counted, and a user
    /// with <c>MaxSkips=1</c> who "skipped" early was never allowed to skip the first real prompt.</summary>
    [Test]
    public async Task A_skip_before_the_enforcement_date_is_refused_and_not_counted()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Enforcement:StartsAt"] = "2027-01-01T00:00:00Z", ["Enforcement:MaxSkips"] = "1" });
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId();
        await ProblemAssert.IsProblemAsync(await client.PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null),
            HttpStatusCode.Conflict, "skip_not_allowed");

        app.Time.SetUtcNow(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var decision = await DecideAsync(client, userId, "password");
        Assert.That((decision.GetProperty("action").GetString(), decision.GetProperty("canSkip").GetBoolean()), Is.EqualTo(("enroll_prompt", true)));
        var skip = await client.PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null);
        Assert.That(skip.StatusCode, Is.EqualTo(HttpStatusCode.OK), await skip.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Skips_are_recorded_and_limited_by_max_skips()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Enforcement:MaxSkips"] = "2" });
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId();

        for (var i = 1; i <= 2; i++)
        {
            Assert.That((await DecideAsync(client, userId, "password")).GetProperty("canSkip").GetBoolean(), Is.True);
            var skip = await client.PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null);
            Assert.That(skip.StatusCode, Is.EqualTo(HttpStatusCode.OK), await skip.Content.ReadAsStringAsync());
        }

        var decision = await DecideAsync(client, userId, "password");
        Assert.That(decision.GetProperty("action").GetString(), Is.EqualTo("enroll_prompt"));
        Assert.That(decision.GetProperty("canSkip").GetBoolean(), Is.False);
        await ProblemAssert.IsProblemAsync(await client.PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null),
            HttpStatusCode.Conflict, "skip_not_allowed");
    }

    [Test]
    public async Task With_max_skips_zero_the_prompt_cannot_be_skipped()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Enforcement:MaxSkips"] = "0" });
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId();
        var decision = await DecideAsync(client, userId, "password");
        Assert.That((decision.GetProperty("action").GetString(), decision.GetProperty("canSkip").GetBoolean()), Is.EqualTo(("enroll_prompt", false)));
        await ProblemAssert.IsProblemAsync(await client.PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null),
            HttpStatusCode.Conflict, "skip_not_allowed");
    }

    /// <summary>A support reset starts the user over (README, docs/SECURITY.md): the skips used before enrolling are given back,
    /// so the user is prompted as a newcomer is, with the full allowance.</summary>
    [Test]
    public async Task A_support_reset_gives_the_skips_back()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Enforcement:MaxSkips"] = "1" });
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId();
        var skip = await client.PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null);
        Assert.That(skip.StatusCode, Is.EqualTo(HttpStatusCode.OK), await skip.Content.ReadAsStringAsync());
        Assert.That((await DecideAsync(client, userId, "password")).GetProperty("canSkip").GetBoolean(), Is.False);

        await Flows.EnableTotpAsync(app, client, userId);
        var reset = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/reset", new { reason = "lost phone", ticket = "T-31" });
        Assert.That(reset.StatusCode, Is.EqualTo(HttpStatusCode.OK), await reset.Content.ReadAsStringAsync());

        var decision = await DecideAsync(client, userId, "password");
        Assert.That((decision.GetProperty("action").GetString(), decision.GetProperty("canSkip").GetBoolean()), Is.EqualTo(("enroll_prompt", true)));
        skip = await client.PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null);
        Assert.That(skip.StatusCode, Is.EqualTo(HttpStatusCode.OK), await skip.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_user_with_2fa_has_no_prompt_to_skip()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        var user = await Flows.EnableTotpAsync(app, client);
        await ProblemAssert.IsProblemAsync(await client.PostAsync($"/v1/users/{user.UserId}/two-factor/prompt/skip", null),
            HttpStatusCode.Conflict, "skip_not_allowed");
    }

    [Test]
    public async Task Concurrent_skips_never_exceed_max_skips()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Enforcement:MaxSkips"] = "3" });
        var clients = Enumerable.Range(0, 12).Select(_ => app.AdminClient()).ToArray();
        var userId = AuthApp.NewUserId();
        var responses = await Race.RunAsync(12, i => clients[i].PostAsync($"/v1/users/{userId}/two-factor/prompt/skip", null),
            i => clients[i].GetAsync("/v1/api-keys"));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(3));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Conflict), Is.EqualTo(9));
    }

    [TestCase("{\"userId\":\"ann\",\"loginMethod\":\"magic_link\"}", "invalid_login_method")]
    [TestCase("{\"userId\":\"ann\"}", "invalid_login_method")]
    [TestCase("{\"userId\":\"ann\",\"loginMethod\":\"Password\"}", "invalid_login_method")] // names are exact: no case folding
    [TestCase("{\"userId\":\"ann\",\"loginMethod\":\"OAuth\"}", "invalid_login_method")]
    [TestCase("{\"userId\":\"ann\",\"loginMethod\":\" password\"}", "invalid_login_method")]
    [TestCase("{\"userId\":\"ann\",\"loginMethod\":\"sso \"}", "invalid_login_method")]
    [TestCase("{\"userId\":\"a b\",\"loginMethod\":\"password\"}", "invalid_user_id")]
    [TestCase("{\"userId\":\"..\",\"loginMethod\":\"password\"}", "invalid_user_id")]
    public async Task Bad_decision_requests_are_400(string json, string code)
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        var response = await client.PostAsync("/v1/login-decisions", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, code);
    }
}
