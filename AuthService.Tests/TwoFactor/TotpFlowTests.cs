using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.TwoFactor;

public class TotpFlowTests : AppFixture
{
    [Test]
    public async Task Enrollment_returns_secret_uri_qr_codes_and_expiry()
    {
        var userId = AuthApp.NewUserId();
        var (secret, body) = await Flows.EnrollTotpAsync(Client, userId, "ann@example.com");

        Assert.Multiple(() =>
        {
            Assert.That(secret, Has.Length.EqualTo(20));
            Assert.That(body.GetProperty("otpauthUri").GetString(), Does.StartWith("otpauth://totp/AuthService:ann%40example.com?secret="));
            Assert.That(body.GetProperty("qrCodeSvg").GetString(), Does.StartWith("<svg"));
            Assert.That(body.GetProperty("qrCodePng").GetString(), Does.StartWith("data:image/png;base64,"));
            Assert.That(body.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddMinutes(15)));
        });
    }

    /// <summary>Google's Key Uri Format: the label is <c>issuer:account</c>, and neither may contain a colon, not even as %3A. An
    /// account name with one (given, or the user id standing in for it: user ids may hold colons) is shown with dots.</summary>
    [TestCase("corp:ann", "corp.ann")]
    [TestCase(null, null)]
    public async Task The_otpauth_label_holds_one_colon_whatever_the_account_name_or_user_id(string? accountName, string? shown)
    {
        var userId = "tenant:" + AuthApp.NewUserId();
        var started = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "totp", accountName });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var label = Uri.UnescapeDataString(new Uri(body.GetProperty("otpauthUri").GetString()!).AbsolutePath.TrimStart('/'));
        Assert.That(label, Is.EqualTo("AuthService:" + (shown ?? userId.Replace(':', '.'))));
    }

    [Test]
    public async Task An_account_name_too_long_for_the_qr_code_is_refused_before_the_proof_is_spent()
    {
        // 256 characters of three UTF-8 bytes each: valid as text, but 2,304 characters once URL-encoded, too many for a QR code.
        var user = await Flows.EnableTotpAsync(App, Client);
        var tooLong = new string('中', 256);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "totp", accountName = tooLong, proof = new { backupCode = user.BackupCodes[0] } }), HttpStatusCode.BadRequest, "validation_failed");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/enroll",
            new { method = "totp", accountName = tooLong }), HttpStatusCode.BadRequest, "validation_failed");

        // The backup code was not spent, and a name of 100 such characters still fits.
        var started = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "totp", accountName = new string('中', 100), proof = new { backupCode = user.BackupCodes[0] } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        Assert.That(body.GetProperty("qrCodeSvg").GetString(), Does.StartWith("<svg"));
    }

    [Test]
    public async Task Status_shows_pending_then_enabled()
    {
        var userId = AuthApp.NewUserId();
        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor");
        Assert.That(status.GetProperty("enabled").GetBoolean(), Is.False);
        Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null));

        await Flows.EnrollTotpAsync(Client, userId);
        status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor");
        Assert.That(status.GetProperty("pending").GetProperty("method").GetString(), Is.EqualTo("totp"));

        await Flows.EnableTotpAsync(App, Client, AuthApp.NewUserId());
        var user = await Flows.EnableTotpAsync(App, Client);
        status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor");
        Assert.Multiple(() =>
        {
            Assert.That(status.GetProperty("enabled").GetBoolean(), Is.True);
            Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("totp"));
            Assert.That(status.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(10));
            Assert.That(status.GetProperty("locked").GetBoolean(), Is.False);
            Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });
    }

    [Test]
    public async Task Confirmation_with_a_wrong_code_is_refused_and_nothing_is_enabled()
    {
        var userId = AuthApp.NewUserId();
        var (secret, _) = await Flows.EnrollTotpAsync(Client, userId);
        var wrong = Flows.Code(secret, Now.AddMinutes(5));

        var response = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = wrong });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_code");
        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor");
        Assert.That(status.GetProperty("enabled").GetBoolean(), Is.False);
    }

    [Test]
    public async Task Confirmation_returns_ten_backup_codes_once()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        Assert.That(user.BackupCodes, Has.Count.EqualTo(10));
        var listed = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor/backup-codes");
        Assert.That(listed.GetProperty("remaining").GetInt32(), Is.EqualTo(10));
        Assert.That(listed.ToString(), Does.Not.Contain(user.BackupCodes[0]));
    }

    /// <summary>15 minutes: confirmed a second before, gone at the minute.</summary>
    [TestCase(-1, true)]
    [TestCase(0, false)]
    public async Task Pending_enrollment_expires_after_15_minutes(int secondsFromExpiry, bool confirms)
    {
        var userId = AuthApp.NewUserId();
        var (secret, _) = await Flows.EnrollTotpAsync(Client, userId);
        App.Time.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(secondsFromExpiry));

        var response = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Flows.Code(secret, Now) });

        if (confirms)
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        }
        else
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "no_pending_enrollment");
        }
    }

    [Test]
    public async Task Enrolling_again_replaces_the_pending_secret()
    {
        var userId = AuthApp.NewUserId();
        var (first, _) = await Flows.EnrollTotpAsync(Client, userId);
        var (second, _) = await Flows.EnrollTotpAsync(Client, userId);

        var stale = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Flows.Code(first, Now) });
        await ProblemAssert.IsProblemAsync(stale, HttpStatusCode.UnprocessableEntity, "invalid_code");
        var fresh = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Flows.Code(second, Now) });
        Assert.That(fresh.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Enrolling_when_enabled_is_a_conflict()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var response = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/enroll", new { method = "totp" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "two_factor_already_enabled");
    }

    [Test]
    public async Task Confirmation_code_cannot_be_replayed_at_login()
    {
        var userId = AuthApp.NewUserId();
        var (secret, _) = await Flows.EnrollTotpAsync(Client, userId);
        var code = Flows.Code(secret, Now);
        (await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code })).EnsureSuccessStatusCode();

        var replay = await Flows.VerifyAsync(Client, userId, new { code });
        await ProblemAssert.IsProblemAsync(replay, HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Valid_code_verifies_with_drift_and_backup_count()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var response = await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("verified").GetBoolean(), Is.True);
            Assert.That(body.GetProperty("method").GetString(), Is.EqualTo("totp"));
            Assert.That(body.GetProperty("driftSteps").GetInt32(), Is.Zero);
            Assert.That(body.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(10));
        });
    }

    [TestCase(-1)]
    [TestCase(1)]
    public async Task Code_one_step_off_is_accepted_and_reports_drift(int drift)
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        App.Time.Advance(TimeSpan.FromSeconds(60));
        var response = await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now.AddSeconds(30 * drift)) });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.That(body.GetProperty("driftSteps").GetInt32(), Is.EqualTo(drift));
    }

    [TestCase(-2)]
    [TestCase(2)]
    public async Task Code_two_steps_off_is_refused(int drift)
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        App.Time.Advance(TimeSpan.FromSeconds(90));
        var response = await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now.AddSeconds(30 * drift)) });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Replayed_code_and_earlier_step_are_refused()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var earlier = Flows.Code(user.Secret, Now.AddSeconds(-30));
        var current = Flows.Code(user.Secret, Now);

        (await Flows.VerifyAsync(Client, user.UserId, new { code = current })).EnsureSuccessStatusCode();

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = current }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = earlier }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task A_replayed_code_is_audited_as_a_replay()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = Flows.Code(user.Secret, Now);
        (await Flows.VerifyAsync(Client, user.UserId, new { code })).EnsureSuccessStatusCode();
        await Flows.VerifyAsync(Client, user.UserId, new { code });
        await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" });

        var events = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor/events?limit=2");
        var reasons = events.GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("details").GetProperty("reason").GetString()).ToList();
        Assert.That(reasons, Is.EqualTo(new[] { "invalid_code", "replayed" }));
    }

    [Test]
    public async Task Twenty_concurrent_verifications_of_one_code_succeed_exactly_once()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = Flows.Code(user.Secret, Now);
        var clients = Enumerable.Range(0, 20).Select(_ => App.AdminClient()).ToArray();

        var responses = await Race.RunAsync(20, i => Flows.VerifyAsync(clients[i], user.UserId, new { code }),
            i => clients[i].GetAsync($"/v1/users/{user.UserId}/two-factor"));

        // One success; then every replay is a failed attempt: 5 are answered invalid_code, the rest hit the
        // per-minute attempt limit. Any other split means a rule was not applied atomically.
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(1));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(14));
    }

    [Test]
    public async Task Verify_without_enabled_factor_is_a_conflict()
    {
        var response = await Flows.VerifyAsync(Client, AuthApp.NewUserId(), new { code = "123456" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "two_factor_not_enabled");
    }

    [TestCase("{}")]
    [TestCase("{\"code\":\"123456\",\"backupCode\":\"abcde-fghjk\"}")]
    public async Task Verify_needs_exactly_one_of_code_and_backup_code(string json)
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var response = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/verify",
            new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
    }

    [Test]
    public async Task Malformed_json_is_a_clear_400()
    {
        var response = await Client.PostAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/verify",
            new StringContent("{\"code\":", System.Text.Encoding.UTF8, "application/json"));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "invalid_json");
    }

    [Test]
    public async Task Invalid_user_id_is_refused()
    {
        var response = await Client.GetAsync($"/v1/users/{new string('a', 129)}/two-factor");
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "invalid_user_id");
    }
}
