using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Passkeys;

/// <summary>DESIGN §8.4: a passkey enrolls, confirms with its registration, and signs in with assertions.</summary>
public class PasskeyFlowTests : PasskeyFixture
{
    [Test]
    public async Task Enrollment_answers_creation_options_in_webauthn_json()
    {
        var userId = AuthApp.NewUserId();
        var response = await Client.PostAsJsonAsync(Path(userId, "enroll"), new { method = "passkey", accountName = "ann@example.com", displayName = "Ann" });
        var body = await JsonAsync(response, HttpStatusCode.Created);
        var options = body.GetProperty("options");
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("method").GetString(), Is.EqualTo("passkey"));
            Assert.That(body.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(App.Time.GetUtcNow().AddMinutes(5)));
            Assert.That(options.GetProperty("rp").GetProperty("id").GetString(), Is.EqualTo(RpId));
            Assert.That(options.GetProperty("rp").GetProperty("name").GetString(), Is.EqualTo("Example Portal"));
            Assert.That(options.GetProperty("user").GetProperty("name").GetString(), Is.EqualTo("ann@example.com"));
            Assert.That(options.GetProperty("user").GetProperty("displayName").GetString(), Is.EqualTo("Ann"));
            Assert.That(Base64Url.DecodeFromChars(options.GetProperty("user").GetProperty("id").GetString()), Has.Length.EqualTo(32),
                "the user handle is 32 bytes");
            Assert.That(options.GetProperty("challenge").GetString(), Does.Match("^[A-Za-z0-9_-]{43}$"), "32 bytes, base64url");
            Assert.That(options.GetProperty("attestation").GetString(), Is.EqualTo("none"));
            Assert.That(options.GetProperty("authenticatorSelection").GetProperty("userVerification").GetString(), Is.EqualTo("preferred"));
            Assert.That(options.GetProperty("pubKeyCredParams")[0].GetProperty("alg").GetInt32(), Is.EqualTo(-7));
            Assert.That(options.GetProperty("timeout").GetInt64(), Is.EqualTo(300000));
        });
        var status = await StatusAsync(userId);
        Assert.That(status.GetProperty("enabled").GetBoolean(), Is.False);
        Assert.That(status.GetProperty("pending").GetProperty("method").GetString(), Is.EqualTo("passkey"));

        // Random, not derived from the user: the same user's next enrollment gets another handle.
        var again = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "enroll"), new { method = "passkey", accountName = "ann@example.com", displayName = "Ann" }),
            HttpStatusCode.Created);
        Assert.That(again.GetProperty("options").GetProperty("user").GetProperty("id").GetString(),
            Is.Not.EqualTo(options.GetProperty("user").GetProperty("id").GetString()), "the user handle is random");
    }

    [Test]
    public async Task A_confirmed_passkey_is_enabled_with_backup_codes_and_signs_in()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, backupCodes) = await EnablePasskeyAsync(userId);
        Assert.That(backupCodes, Has.Count.EqualTo(10));

        var status = await StatusAsync(userId);
        Assert.That(status.GetProperty("enabled").GetBoolean(), Is.True);
        Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("passkey"));

        var decision = await JsonAsync(await Client.PostAsJsonAsync("/v1/login-decisions", new { userId, loginMethod = "password" }), HttpStatusCode.OK);
        Assert.That(decision.GetProperty("action").GetString(), Is.EqualTo("verify"));
        Assert.That(decision.GetProperty("method").GetString(), Is.EqualTo("passkey"));

        var options = await ChallengeAsync(userId);
        Assert.Multiple(() =>
        {
            Assert.That(options.GetProperty("rpId").GetString(), Is.EqualTo(RpId));
            Assert.That(options.GetProperty("userVerification").GetString(), Is.EqualTo("preferred"));
            Assert.That(options.GetProperty("allowCredentials")[0].GetProperty("id").GetString(), Is.EqualTo(passkey.Id));
            Assert.That(options.GetProperty("allowCredentials")[0].GetProperty("transports")[0].GetString(), Is.EqualTo("internal"));
        });
        var before = await Scrape.TakeAsync(App);
        var verified = await JsonAsync(await VerifyAsync(userId, passkey.Assert(options)), HttpStatusCode.OK);
        Assert.Multiple(() =>
        {
            Assert.That(verified.GetProperty("verified").GetBoolean(), Is.True);
            Assert.That(verified.GetProperty("method").GetString(), Is.EqualTo("passkey"));
            Assert.That(verified.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(10));
        });

        // A second login with a fresh challenge: the counter moves on.
        Assert.That((await VerifyAsync(userId, passkey.Assert(await ChallengeAsync(userId)))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await EventsAsync(userId), Does.Contain("enrollment_confirmed").And.Contain("verification_succeeded"));
        var after = await Scrape.TakeAsync(App);
        Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"success\"}"), Is.EqualTo(2),
            "each passkey login is counted (OPERATIONS.md's ratio of invalid to success reads it)");
    }

    [Test]
    public async Task A_backup_code_signs_in_a_passkey_user()
    {
        var userId = AuthApp.NewUserId();
        var (_, backupCodes) = await EnablePasskeyAsync(userId);
        var body = await JsonAsync(await Flows.VerifyAsync(Client, userId, new { backupCode = backupCodes[0] }), HttpStatusCode.OK);
        Assert.That(body.GetProperty("method").GetString(), Is.EqualTo("backup_code"));
        Assert.That(body.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(9));
    }

    [Test]
    public async Task A_passkey_assertion_proves_the_user_for_new_backup_codes()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, oldCodes) = await EnablePasskeyAsync(userId);
        var response = await Client.PostAsJsonAsync(Path(userId, "backup-codes"),
            new { proof = new { credential = passkey.Assert(await ChallengeAsync(userId, "proof")) } });
        var body = await JsonAsync(response, HttpStatusCode.Created);
        Assert.That(body.GetProperty("backupCodes").GetArrayLength(), Is.EqualTo(10));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { backupCode = oldCodes[0] }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Code_and_credential_together_is_a_caller_bug()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var response = await Flows.VerifyAsync(Client, userId, new { code = "123456", credential = passkey.Assert(await ChallengeAsync(userId)) });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
    }

    [Test]
    public async Task A_support_reset_removes_the_passkey_and_a_new_one_can_be_enrolled()
    {
        var userId = AuthApp.NewUserId();
        var (old, _) = await EnablePasskeyAsync(userId);
        var reset = await Client.PostAsJsonAsync(Path(userId, "reset"), new { reason = "lost laptop", ticket = "SUP-1" });
        Assert.That(reset.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await StatusAsync(userId)).GetProperty("enabled").GetBoolean(), Is.False);

        var (fresh, _) = await EnablePasskeyAsync(userId);
        var options = await ChallengeAsync(userId);
        Assert.That(options.GetProperty("allowCredentials").GetArrayLength(), Is.EqualTo(1));
        Assert.That(options.GetProperty("allowCredentials")[0].GetProperty("id").GetString(), Is.EqualTo(fresh.Id));
        old.ActFor(fresh);
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, old.Assert(options)), HttpStatusCode.UnprocessableEntity, "invalid_passkey");
    }

    [Test]
    public async Task A_totp_user_gets_no_passkey_challenge_and_a_passkey_user_no_sms()
    {
        var totp = await Flows.EnableTotpAsync(App, Client);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Path(totp.UserId, "challenge"), new { channel = "passkey" }),
            HttpStatusCode.Conflict, "no_challenge_for_method");

        var userId = AuthApp.NewUserId();
        await EnablePasskeyAsync(userId);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Path(userId, "challenge"), new { channel = "sms" }),
            HttpStatusCode.Conflict, "no_challenge_for_method");
    }

    /// <summary>A retried passkey challenge with the same Idempotency-Key returns the first options and issues nothing new, so the
    /// challenge a browser may already be answering stays; without a key each call replaces the last. The key is bound to its
    /// request like a phone challenge's.</summary>
    [Test]
    public async Task A_passkey_challenge_retried_with_its_idempotency_key_returns_the_first_options()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        async Task<HttpResponseMessage> KeyedAsync(string key, string purpose = "login", HttpClient? caller = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Path(userId, "challenge"))
            {
                Content = JsonContent.Create(new { channel = "passkey", purpose }),
            };
            request.Headers.Add("Idempotency-Key", key);
            return await (caller ?? Client).SendAsync(request);
        }

        var first = (await JsonAsync(await KeyedAsync("retry-1"), HttpStatusCode.OK)).GetProperty("options");
        var again = (await JsonAsync(await KeyedAsync("retry-1"), HttpStatusCode.OK)).GetProperty("options");
        Assert.That(again.GetProperty("challenge").GetString(), Is.EqualTo(first.GetProperty("challenge").GetString()), "the first options again");
        await ProblemAssert.IsProblemAsync(await KeyedAsync("retry-1", "proof"), (HttpStatusCode)422, "idempotency_key_reused");
        using (var otherCaller = await App.ClientWithScopesAsync("verify"))
        {
            // Bound to the API key too: another caller's request under the same key is not answered with this one's options.
            await ProblemAssert.IsProblemAsync(await KeyedAsync("retry-1", caller: otherCaller), (HttpStatusCode)422, "idempotency_key_reused");
        }

        Assert.That((await VerifyAsync(userId, passkey.Assert(first))).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the first challenge still stands");

        var unkeyed = await ChallengeAsync(userId);
        Assert.That((await ChallengeAsync(userId)).GetProperty("challenge").GetString(), Is.Not.EqualTo(unkeyed.GetProperty("challenge").GetString()),
            "without a key, new options each time");
        await ProblemAssert.IsProblemAsync(await KeyedAsync(new string('k', 300)), HttpStatusCode.BadRequest, "validation_failed");
    }
}
