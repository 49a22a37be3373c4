using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using OtpNet;

namespace AuthService.Tests.Passkeys;

/// <summary>Switching passkey ⇄ TOTP ⇄ phone with proof of the current factor (a passkey assertion is one).</summary>
public class PasskeySwitchTests : PasskeyFixture
{
    [Test]
    public async Task Passkey_to_totp_with_a_passkey_proof_and_back_with_a_totp_proof()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, backupCodes) = await EnablePasskeyAsync(userId);

        var toTotp = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "switch-method"), new
        {
            method = "totp", accountName = "ann@example.com", proof = new { credential = passkey.Assert(await ChallengeAsync(userId, "proof")) },
        }), HttpStatusCode.Created);
        var secret = Base32Encoding.ToBytes(toTotp.GetProperty("secret").GetString());
        Assert.That((await StatusAsync(userId)).GetProperty("method").GetString(), Is.EqualTo("passkey"), "the old method works until confirmed");

        var confirmed = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "switch-method/confirm"),
            new { code = Flows.Code(secret, App.Time.GetUtcNow()) }), HttpStatusCode.OK);
        Assert.That(confirmed.GetProperty("method").GetString(), Is.EqualTo("totp"));
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var noPasskey = await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Path(userId, "challenge"), new { channel = "passkey" }),
            HttpStatusCode.Conflict, "no_challenge_for_method");
        Assert.That(noPasskey.GetProperty("detail").GetString(), Does.Contain("passkey").And.Not.Contain("phone"),
            "the detail is about the passkey the user lacks");

        using var second = new SoftPasskey(Origin, RpId);
        var toPasskey = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "switch-method"), new
        {
            method = "passkey", displayName = "Ann", proof = new { code = Flows.Code(secret, App.Time.GetUtcNow()) },
        }), HttpStatusCode.Created);
        Assert.That(toPasskey.GetProperty("options").GetProperty("excludeCredentials").GetArrayLength(), Is.EqualTo(0),
            "the old passkey died with the switch to TOTP");
        var back = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "switch-method/confirm"),
            new { credential = second.Register(toPasskey.GetProperty("options")) }), HttpStatusCode.OK);
        Assert.That(back.GetProperty("method").GetString(), Is.EqualTo("passkey"));

        var options = await ChallengeAsync(userId);
        Assert.That(options.GetProperty("allowCredentials").EnumerateArray().Select(c => c.GetProperty("id").GetString()), Is.EqualTo(new[] { second.Id }));
        Assert.That((await VerifyAsync(userId, second.Assert(options))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await StatusAsync(userId)).GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(backupCodes.Count), "backup codes kept");
        Assert.That(await EventsAsync(userId), Has.Exactly(2).EqualTo("method_switched"));
    }

    [Test]
    public async Task A_new_passkey_replaces_the_old_one_with_the_old_ones_proof()
    {
        var userId = AuthApp.NewUserId();
        var (old, _) = await EnablePasskeyAsync(userId);
        var started = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "switch-method"), new
        {
            method = "passkey", proof = new { credential = old.Assert(await ChallengeAsync(userId, "proof")) },
        }), HttpStatusCode.Created);
        var exclude = started.GetProperty("options").GetProperty("excludeCredentials");
        Assert.That(exclude[0].GetProperty("id").GetString(), Is.EqualTo(old.Id), "the same authenticator is not registered twice");

        using var fresh = new SoftPasskey(Origin, RpId);
        await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "switch-method/confirm"),
            new { credential = fresh.Register(started.GetProperty("options")) }), HttpStatusCode.OK);
        // The old credential is gone, not merely unlisted: the challenge lists only the new one, and the old authenticator,
        // signing as itself (its own user handle), is refused.
        var options = await ChallengeAsync(userId);
        Assert.That(options.GetProperty("allowCredentials").EnumerateArray().Select(c => c.GetProperty("id").GetString()), Is.EqualTo(new[] { fresh.Id }));
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, old.Assert(options)), HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That((await VerifyAsync(userId, fresh.Assert(await ChallengeAsync(userId)))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Passkey_to_phone_with_a_backup_code_proof_starts_a_phone_switch()
    {
        var userId = AuthApp.NewUserId();
        var (_, backupCodes) = await EnablePasskeyAsync(userId);
        var started = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "switch-method"), new
        {
            method = "phone", phoneNumber = "+13035550123", channel = "sms", proof = new { backupCode = backupCodes[0] },
        }), HttpStatusCode.Accepted);
        Assert.That(started.GetProperty("phoneNumber").GetString(), Is.EqualTo("+1******0123"));
        var status = await StatusAsync(userId);
        Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("passkey"));
        Assert.That(status.GetProperty("pending").GetProperty("method").GetString(), Is.EqualTo("phone"));
    }

    [Test]
    public async Task A_refused_passkey_proof_starts_no_switch()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var response = await Client.PostAsJsonAsync(Path(userId, "switch-method"), new
        {
            method = "totp", proof = new { credential = passkey.Assert(await ChallengeAsync(userId, "proof"), origin: "https://evil.test") },
        });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That((await StatusAsync(userId)).GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public async Task A_switch_to_an_invalid_target_spends_no_proof()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var options = await ChallengeAsync(userId, "proof");
        var response = await Client.PostAsJsonAsync(Path(userId, "switch-method"), new
        {
            method = "phone", phoneNumber = "not a number", channel = "sms", proof = new { credential = passkey.Assert(options) },
        });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "invalid_phone_number");
        passkey.SignCount--;
        var started = await Client.PostAsJsonAsync(Path(userId, "switch-method"), new
        {
            method = "totp", accountName = "ann@example.com", proof = new { credential = passkey.Assert(options) },
        });
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), "the proof challenge is still live");
    }
}
