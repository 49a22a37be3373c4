using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Passkeys;
using AuthService.Tests.TwoFactor;
using Dapper;

namespace AuthService.Tests.Security;

/// <summary>DESIGN §9.1, issue 21 points 1 and 2: a code or challenge is bound to the factor and the purpose it was issued for.
/// The Telnyx stand-in holds a send while the user's factor changes (a switch to another number or to a passkey, a support
/// reset), as a slow provider does under load; the code that reached the old number must never log in.</summary>
public class FactorBindingTests : AppFixture
{
    protected override bool SendsCodes => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Passkeys:RelyingPartyId"] = PasskeyFixture.RpId,
        ["Passkeys:RelyingPartyName"] = "Example Portal",
        ["Passkeys:Origins:0"] = PasskeyFixture.Origin,
    };

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    private static string Url(string userId, string rest = "") => $"/v1/users/{userId}/two-factor{rest}";

    private async Task<(string UserId, string Phone, IReadOnlyList<string> BackupCodes)> EnablePhoneAsync()
    {
        var user = await Flows.EnablePhoneAsync(Client, Telnyx, "bind");
        return (user.UserId, user.Phone, user.BackupCodes);
    }

    private async Task StartPhoneAsync(string userId, string phone, string route, object? proof = null)
    {
        var started = await Client.PostAsJsonAsync(Url(userId, "/" + route), proof is null
            ? new { method = "phone", phoneNumber = phone, channel = "sms" }
            : (object)new { method = "phone", phoneNumber = phone, channel = "sms", proof });
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await started.Content.ReadAsStringAsync());
    }

    private async Task SwitchToPhoneAsync(string userId, string phone, string backupCode)
    {
        await StartPhoneAsync(userId, phone, "switch-method", new { backupCode });
        var confirmed = await Client.PostAsJsonAsync(Url(userId, "/switch-method/confirm"), new { code = Telnyx.LastCodeTo(phone) });
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
    }

    private Task<HttpResponseMessage> ChallengeAsync(string userId, string channel = "sms", string purpose = "login") =>
        Client.PostAsJsonAsync(Url(userId, "/challenge"), new { channel, purpose });

    private async Task<JsonElement> StatusAsync(string userId) => await Client.GetFromJsonAsync<JsonElement>(Url(userId));

    /// <summary>Login and proof codes stored for anything but the user's current factor.</summary>
    private async Task<long> StaleCodesAsync(string userId)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<long>("""
            select count(*) from phone_codes c
            where c.user_id = @userId and c.purpose <> 'pending'
              and c.factor_id is distinct from (select f.factor_id from factors f where f.user_id = @userId)
            """, new { userId });
    }

    private async Task ResetAsync(string userId) =>
        (await Client.PostAsJsonAsync(Url(userId, "/reset"), new { reason = "lost phone", ticket = "T-21" })).EnsureSuccessStatusCode();

    /// <summary>Starts a login challenge to <paramref name="phone"/> and returns once Telnyx holds it.</summary>
    private async Task<(Task<HttpResponseMessage> Challenge, TelnyxStandIn.Gate Held)> ChallengeHeldAsync(string userId, string phone)
    {
        var held = Telnyx.Hold(phone);
        var challenge = ChallengeAsync(userId);
        await held.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        return (challenge, held);
    }

    /// <summary>DESIGN §8.1: a right proof is accepted only if, at that moment, the limit has room and the user is not locked. A
    /// switch to a phone checks its proof, sends the SMS, and spends the proof after the send: wrong codes that fill the minute
    /// meanwhile close the gate, so the switch is refused, the backup code stays unspent and nothing is pending. (For a backup
    /// code only the gate at the spend decides this; for a TOTP code the acceptance's own count does too.)</summary>
    [Test]
    public async Task Failures_while_a_change_sends_its_code_close_the_gate_before_its_proof_is_spent()
    {
        var (userId, _, backupCodes) = await EnablePhoneAsync();
        var newPhone = PhoneFactorTests.NewPhone();
        var left = (await Client.GetFromJsonAsync<JsonElement>(Url(userId, "/backup-codes"))).GetProperty("remaining").GetInt32();
        Task<HttpResponseMessage> switching;
        using (var held = Telnyx.Hold(newPhone))
        {
            switching = Client.PostAsJsonAsync(Url(userId, "/switch-method"),
                new { method = "phone", phoneNumber = newPhone, channel = "sms", proof = new { backupCode = backupCodes[0] } });
            await held.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(20)); // the proof was checked: the send is under way
            for (var i = 0; i < 5; i++)
            {
                await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { code = "000000" }),
                    HttpStatusCode.UnprocessableEntity, "invalid_code");
            }

            held.Open();
        }

        await ProblemAssert.IsProblemAsync(await switching, HttpStatusCode.TooManyRequests, "too_many_attempts");
        Assert.That((await Client.GetFromJsonAsync<JsonElement>(Url(userId, "/backup-codes"))).GetProperty("remaining").GetInt32(),
            Is.EqualTo(left), "the backup code was not spent");
        Assert.That((await StatusAsync(userId)).GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null), "no switch is pending");

        App.Time.Advance(TimeSpan.FromMinutes(1)); // the minute rolls: the same backup code still proves the switch
        await StartPhoneAsync(userId, newPhone, "switch-method", new { backupCode = backupCodes[0] });
    }

    [Test]
    public async Task A_login_code_in_flight_while_the_user_moves_to_another_number_is_not_kept()
    {
        var (userId, oldPhone, backupCodes) = await EnablePhoneAsync();
        var newPhone = PhoneFactorTests.NewPhone();
        var sent = AuthService.Api.Observability.ServiceMetrics.Deliveries.WithLabels("sms", "sent");
        var (challenge, held) = await ChallengeHeldAsync(userId, oldPhone);
        double sentBefore;
        using (held)
        {
            await SwitchToPhoneAsync(userId, newPhone, backupCodes[0]); // commits while Telnyx still answers
            sentBefore = sent.Value; // the switch's own SMS to the new number is counted by now
            held.Open();
            await ProblemAssert.IsProblemAsync(await challenge, HttpStatusCode.Conflict, "factor_changed");
        }

        Assert.That(sent.Value, Is.EqualTo(sentBefore + 1), "the provider took the SMS: a send in the metrics, though its code was discarded");

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { code = Telnyx.LastCodeTo(oldPhone) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        Assert.That(await StaleCodesAsync(userId), Is.Zero, "the code sent to the old number was never stored");
        Assert.That((await StatusAsync(userId)).GetProperty("phoneNumber").GetString(), Does.EndWith(newPhone[^4..]));
    }

    /// <summary>A new challenge kills the previous code of its purpose, and a code stored late never overwrites a newer one. The
    /// older send, answered last, was still audited as kept (and an SMS of it remembered for a fallback call) though nothing of it
    /// was stored; now its audit says so, and the newer code is the one that logs in.</summary>
    [Test]
    public async Task A_code_overtaken_by_a_newer_challenge_while_it_was_sent_is_audited_as_not_kept()
    {
        var (userId, phone, _) = await EnablePhoneAsync();
        var (older, held) = await ChallengeHeldAsync(userId, phone); // the SMS, held at Telnyx
        using (held)
        {
            App.Time.Advance(TimeSpan.FromMilliseconds(10)); // later than the held send, well inside its 1 s timeout
            var newer = await ChallengeAsync(userId, channel: "call");
            Assert.That(newer.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await newer.Content.ReadAsStringAsync());
            held.Open();
            Assert.That((await older).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "it was sent");
        }

        await using var connection = await OpenAsync();
        var sends = (await connection.QueryAsync<string>(
            "select details::text from audit_events where user_id = @userId and event_type = 'code_sent' and details->>'purpose' = 'login' order by id",
            new { userId })).Select(d => JsonDocument.Parse(d).RootElement).ToList();
        Assert.That(sends.Select(d => (d.GetProperty("channel").GetString(), d.GetProperty("kept").GetBoolean())),
            Is.EqualTo(new[] { ("call", true), ("sms", false) }), "the call's code stands; the SMS, stored last, was not kept");
        var deliveries = Telnyx.DeliveriesTo(phone);
        var (sms, call) = (TelnyxStandIn.CodeIn(deliveries.Last(d => d.Channel == "sms").Body),
            TelnyxStandIn.CodeIn(deliveries.Last(d => d.Channel == "call").Body));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { code = sms }), HttpStatusCode.UnprocessableEntity,
            "invalid_code");
        Assert.That((await Flows.VerifyAsync(Client, userId, new { code = call })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_login_code_in_flight_while_the_user_moves_to_a_passkey_never_logs_in()
    {
        var (userId, oldPhone, backupCodes) = await EnablePhoneAsync();
        var (challenge, held) = await ChallengeHeldAsync(userId, oldPhone);
        using (held)
        {
            var started = await Client.PostAsJsonAsync(Url(userId, "/switch-method"),
                new { method = "passkey", displayName = "Ann", proof = new { backupCode = backupCodes[0] } });
            var options = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("options");
            using var passkey = new SoftPasskey(PasskeyFixture.Origin, PasskeyFixture.RpId);
            var confirmed = await Client.PostAsJsonAsync(Url(userId, "/switch-method/confirm"), new { credential = passkey.Register(options) });
            Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
            held.Open();
            await ProblemAssert.IsProblemAsync(await challenge, HttpStatusCode.Conflict, "factor_changed");
        }

        // A passkey user never has a phone code accepted, whatever is stored.
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { code = Telnyx.LastCodeTo(oldPhone) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        Assert.That((await StatusAsync(userId)).GetProperty("method").GetString(), Is.EqualTo("passkey"));
    }

    [Test]
    public async Task A_login_code_in_flight_during_a_support_reset_and_a_new_enrollment_never_logs_in()
    {
        var (userId, oldPhone, _) = await EnablePhoneAsync();
        var newPhone = PhoneFactorTests.NewPhone();
        var (challenge, held) = await ChallengeHeldAsync(userId, oldPhone);
        using (held)
        {
            await ResetAsync(userId);
            await StartPhoneAsync(userId, newPhone, "enroll");
            (await Client.PostAsJsonAsync(Url(userId, "/enroll/confirm"), new { code = Telnyx.LastCodeTo(newPhone) })).EnsureSuccessStatusCode();
            held.Open();
            await ProblemAssert.IsProblemAsync(await challenge, HttpStatusCode.Conflict, "factor_changed");
        }

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { code = Telnyx.LastCodeTo(oldPhone) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [TestCase("reset")]
    [TestCase("switch")]
    public async Task Challenges_racing_a_factor_change_leave_no_code_of_the_old_number_that_logs_in(string change)
    {
        var (userId, oldPhone, backupCodes) = await EnablePhoneAsync();
        var newPhone = PhoneFactorTests.NewPhone();
        if (change == "switch")
        {
            await StartPhoneAsync(userId, newPhone, "switch-method", new { backupCode = backupCodes[0] });
        }

        // Real concurrency: six challenges and the change released together, each on its own connection.
        var answers = await Race.RunAsync(7, async i =>
        {
            if (i != 3)
            {
                return (await ChallengeAsync(userId)).StatusCode;
            }

            if (change == "reset")
            {
                await ResetAsync(userId);
                return HttpStatusCode.OK;
            }

            return (await Client.PostAsJsonAsync(Url(userId, "/switch-method/confirm"), new { code = Telnyx.LastCodeTo(newPhone) })).StatusCode;
        });
        // 202 before the change, 409 (factor_changed, or no factor) after it; 429 when a reservation decided after a reset finds
        // the number no longer confirmed by its user, and so under the small unconfirmed-number budget.
        Assert.That(answers[3], Is.EqualTo(HttpStatusCode.OK), change);
        Assert.That(answers, Is.All.AnyOf(HttpStatusCode.OK, HttpStatusCode.Accepted, HttpStatusCode.Conflict, HttpStatusCode.TooManyRequests),
            string.Join(", ", answers));

        if (change == "reset")
        {
            await StartPhoneAsync(userId, newPhone, "enroll");
            (await Client.PostAsJsonAsync(Url(userId, "/enroll/confirm"), new { code = Telnyx.LastCodeTo(newPhone) })).EnsureSuccessStatusCode();
        }

        var oldCodes = Telnyx.DeliveriesTo(oldPhone).Select(d => TelnyxStandIn.CodeIn(d.Body)).Distinct().TakeLast(4).ToList();
        foreach (var code in oldCodes)
        {
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { code }), HttpStatusCode.UnprocessableEntity, "invalid_code");
        }

        Assert.That(await StaleCodesAsync(userId), Is.Zero, "no login code of the old factor survived the change");
    }

    [Test]
    public async Task A_switch_in_flight_during_a_reset_and_a_new_enrollment_replaces_nothing()
    {
        var (userId, _, backupCodes) = await EnablePhoneAsync();
        var target = PhoneFactorTests.NewPhone();
        using var held = Telnyx.Hold(target);
        var switching = Client.PostAsJsonAsync(Url(userId, "/switch-method"),
            new { method = "phone", phoneNumber = target, channel = "sms", proof = new { backupCode = backupCodes[0] } });
        await held.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));

        await ResetAsync(userId);
        var totp = await Flows.EnableTotpAsync(App, Client, userId);
        held.Open();

        await ProblemAssert.IsProblemAsync(await switching, HttpStatusCode.Conflict, "factor_changed");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(userId, "/switch-method/confirm"), new { code = Telnyx.LastCodeTo(target) }),
            HttpStatusCode.Conflict, "no_pending_switch");
        var status = await StatusAsync(userId);
        Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("totp"), "the factor enrolled after the reset stays");
        Assert.That((await Flows.VerifyAsync(Client, userId, new { code = Flows.Code(totp.Secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_login_code_is_no_proof_and_a_proof_code_is_no_login()
    {
        var (userId, phone, _) = await EnablePhoneAsync();
        (await ChallengeAsync(userId)).EnsureSuccessStatusCode();
        var login = Telnyx.LastCodeTo(phone);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(userId, "/switch-method"),
            new { method = "totp", accountName = "ann@example.com", proof = new { code = login } }), HttpStatusCode.UnprocessableEntity, "invalid_code");

        var proofChallenge = await ChallengeAsync(userId, purpose: "proof");
        Assert.That((await proofChallenge.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("purpose").GetString(), Is.EqualTo("proof"));
        var proof = Telnyx.LastCodeTo(phone);
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { code = proof }), HttpStatusCode.UnprocessableEntity,
            "invalid_code");

        var started = await Client.PostAsJsonAsync(Url(userId, "/switch-method"), new { method = "totp", accountName = "ann@example.com", proof = new { code = proof } });
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), "the proof code proves");
        Assert.That((await Flows.VerifyAsync(Client, userId, new { code = login })).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the login code logs in");
    }

    [Test]
    public async Task A_challenge_purpose_is_login_or_proof_and_totp_users_need_none()
    {
        var (userId, _, _) = await EnablePhoneAsync();
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(userId, purpose: "admin"), HttpStatusCode.BadRequest, "validation_failed");
        var totp = await Flows.EnableTotpAsync(App, Client);
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(totp.UserId, purpose: "proof"), HttpStatusCode.Conflict, "no_challenge_for_method");
    }

    [Test]
    public async Task A_login_assertion_is_no_proof_and_a_proof_assertion_is_no_login()
    {
        var userId = AuthApp.NewUserId("bind");
        using var passkey = new SoftPasskey(PasskeyFixture.Origin, PasskeyFixture.RpId);
        var enroll = await Client.PostAsJsonAsync(Url(userId, "/enroll"), new { method = "passkey", displayName = "Ann" });
        var options = (await enroll.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("options");
        (await Client.PostAsJsonAsync(Url(userId, "/enroll/confirm"), new { credential = passkey.Register(options) })).EnsureSuccessStatusCode();

        async Task<JsonElement> OptionsAsync(string purpose) =>
            (await (await ChallengeAsync(userId, "passkey", purpose)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("options");

        // A login assertion regenerates no backup codes (and its login challenge is left alone).
        var login = passkey.Assert(await OptionsAsync("login"));
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(userId, "/backup-codes"), new { proof = new { credential = login } }),
            HttpStatusCode.UnprocessableEntity, "passkey_challenge_invalid");
        Assert.That((await Flows.VerifyAsync(Client, userId, new { credential = login })).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // A proof assertion does not log in, and the refused login leaves the proof challenge alone.
        await OptionsAsync("login");
        var proof = passkey.Assert(await OptionsAsync("proof"));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, userId, new { credential = proof }), HttpStatusCode.UnprocessableEntity,
            "passkey_challenge_invalid");
        Assert.That((await Client.PostAsJsonAsync(Url(userId, "/backup-codes"), new { proof = new { credential = proof } })).StatusCode,
            Is.EqualTo(HttpStatusCode.Created));
    }
}
