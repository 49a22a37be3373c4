using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Passkeys;

/// <summary>Every way a registration or assertion can be wrong answers a 4xx problem with a stable code, enables or
/// accepts nothing, and (for assertions) leaves the right passkey working with a fresh challenge.</summary>
public class PasskeyFailureTests : PasskeyFixture
{
    private async Task ConfirmIsRefusedAsync(Func<SoftPasskey, JsonElement, object> credential, HttpStatusCode status, string code)
    {
        var userId = AuthApp.NewUserId();
        using var passkey = new SoftPasskey(Origin, RpId);
        var options = await EnrollOptionsAsync(userId);
        var response = await Client.PostAsJsonAsync(Path(userId, "enroll/confirm"), new { credential = credential(passkey, options) });
        await ProblemAssert.IsProblemAsync(response, status, code);
        Assert.That((await StatusAsync(userId)).GetProperty("enabled").GetBoolean(), Is.False, "nothing enabled");
    }

    [Test]
    public Task Registration_made_on_another_origin_is_refused() =>
        ConfirmIsRefusedAsync((p, o) => p.Register(o, origin: "https://portal.example.com.evil.test"), HttpStatusCode.UnprocessableEntity, "invalid_passkey");

    [Test]
    public Task Registration_for_another_rp_id_is_refused() =>
        ConfirmIsRefusedAsync((p, o) => p.Register(o, rpId: "evil.test"), HttpStatusCode.UnprocessableEntity, "invalid_passkey");

    [Test]
    public Task Registration_answering_another_challenge_is_refused() =>
        ConfirmIsRefusedAsync((p, o) => p.Register(JsonDocument.Parse(o.GetRawText().Replace(o.GetProperty("challenge").GetString()!,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).RootElement), HttpStatusCode.UnprocessableEntity, "passkey_challenge_invalid");

    /// <summary>Fido2's packed, Apple and TPM verifiers throw a bare <see cref="Exception"/> for a certificate key on a curve
    /// COSE has no name for (<c>ToCoseCurve</c>), before the statement's signature is read. It was not among the refusals, so it
    /// came back as a 500 and the challenge stayed live for another try.</summary>
    [Test]
    public async Task Registration_with_an_attestation_certificate_on_an_unnamed_curve_is_refused_not_a_500()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.brainpoolP256r1);
        var request = new CertificateRequest("CN=Odd Authenticator, OU=Authenticator Attestation, O=Test, C=US", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var der = certificate.RawData;
        await ConfirmIsRefusedAsync((p, o) => p.Register(o, packedCertificate: der), HttpStatusCode.UnprocessableEntity, "invalid_passkey");
    }

    [Test]
    public Task Registration_that_is_not_base64url_is_a_caller_bug() =>
        ConfirmIsRefusedAsync((p, _) => new { id = p.Id, rawId = p.Id, type = "public-key", response = new { clientDataJSON = "!!", attestationObject = "??" } },
            HttpStatusCode.BadRequest, "validation_failed");

    [Test]
    public async Task A_credential_id_another_user_registers_at_the_same_moment_is_refused_not_a_500()
    {
        // The uniqueness check runs under one user's lock only. Another user's registration of the same id is held
        // uncommitted while this one is confirmed: the check passes, the insert meets the other's row once it commits.
        var (_, _) = await EnablePasskeyAsync(AuthApp.NewUserId());
        var userId = AuthApp.NewUserId();
        using var passkey = new SoftPasskey(Origin, RpId);
        var options = await EnrollOptionsAsync(userId);
        await using var other = new Npgsql.NpgsqlConnection(App.ConnectionString);
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await using (var copy = new Npgsql.NpgsqlCommand("""
            create temp table taken on commit drop as select * from passkey_credentials limit 1;
            update taken set credential_id = @id;
            insert into passkey_credentials select * from taken;
            """, other, transaction) { Parameters = { new("id", passkey.CredentialId) } })
        {
            await copy.ExecuteNonQueryAsync();
        }

        var confirming = Client.PostAsJsonAsync(Path(userId, "enroll/confirm"), new { credential = passkey.Register(options) });
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
        await transaction.CommitAsync();

        await ProblemAssert.IsProblemAsync(await confirming, HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That((await StatusAsync(userId)).GetProperty("enabled").GetBoolean(), Is.False, "nothing enabled");
    }

    [Test]
    public async Task A_registration_challenge_is_single_use()
    {
        var userId = AuthApp.NewUserId();
        using var passkey = new SoftPasskey(Origin, RpId);
        var options = await EnrollOptionsAsync(userId);
        var wrong = await Client.PostAsJsonAsync(Path(userId, "enroll/confirm"), new { credential = passkey.Register(options, rpId: "evil.test") });
        await ProblemAssert.IsProblemAsync(wrong, HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        var right = await Client.PostAsJsonAsync(Path(userId, "enroll/confirm"), new { credential = passkey.Register(options) });
        await ProblemAssert.IsProblemAsync(right, HttpStatusCode.UnprocessableEntity, "passkey_challenge_invalid");
    }

    /// <summary>5 minutes: registered a second before, gone at the minute.</summary>
    [TestCase(-1, true)]
    [TestCase(0, false)]
    public async Task An_expired_registration_is_gone(int secondsFromExpiry, bool registers)
    {
        var userId = AuthApp.NewUserId();
        using var passkey = new SoftPasskey(Origin, RpId);
        var options = await EnrollOptionsAsync(userId);
        App.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(secondsFromExpiry));
        var response = await Client.PostAsJsonAsync(Path(userId, "enroll/confirm"), new { credential = passkey.Register(options) });
        if (!registers)
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "no_pending_enrollment");
        }

        Assert.That(response.StatusCode == HttpStatusCode.OK, Is.EqualTo(registers), await response.Content.ReadAsStringAsync());
        Assert.That((await StatusAsync(userId)).GetProperty("enabled").GetBoolean(), Is.EqualTo(registers));
    }

    [Test]
    public async Task The_phishing_property_an_assertion_made_for_another_origin_is_refused()
    {
        // A look-alike site relays the real challenge; the browser signs with the origin it is really on.
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var phished = passkey.Assert(await ChallengeAsync(userId), origin: "https://portal-example.com");
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, phished), HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That(await LastFailureReasonAsync(userId), Is.EqualTo("origin_mismatch"));
        Assert.That((await VerifyAsync(userId, passkey.Assert(await ChallengeAsync(userId)))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("x")]
    [TestCase("")]
    [TestCase("https://")]
    public async Task An_origin_that_is_no_uri_is_refused_and_counted_like_any_other(string origin)
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var broken = passkey.Assert(await ChallengeAsync(userId), origin: origin);
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, broken), HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That(await LastFailureReasonAsync(userId), Is.EqualTo("origin_mismatch"));
    }

    [Test]
    public async Task An_assertion_for_another_rp_id_is_refused()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var response = await VerifyAsync(userId, passkey.Assert(await ChallengeAsync(userId), rpId: "example.com"));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That(await LastFailureReasonAsync(userId), Is.EqualTo("rp_id_mismatch"));
    }

    [Test]
    public async Task A_replayed_assertion_is_refused()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var assertion = passkey.Assert(await ChallengeAsync(userId));
        Assert.That((await VerifyAsync(userId, assertion)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, assertion), HttpStatusCode.UnprocessableEntity, "passkey_challenge_invalid");

        // Even after a new challenge exists, the old answer does not fit it.
        await ChallengeAsync(userId);
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, assertion), HttpStatusCode.UnprocessableEntity, "passkey_challenge_invalid");
    }

    [Test]
    public async Task An_expired_challenge_is_refused()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var options = await ChallengeAsync(userId);
        App.Time.Advance(TimeSpan.FromMinutes(5));
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, passkey.Assert(options)), HttpStatusCode.UnprocessableEntity,
            "passkey_challenge_invalid");
        Assert.That(await LastFailureReasonAsync(userId), Is.EqualTo("challenge_expired"));
    }

    [Test]
    public async Task A_new_challenge_kills_the_previous_one()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var first = await ChallengeAsync(userId);
        await ChallengeAsync(userId);
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, passkey.Assert(first)), HttpStatusCode.UnprocessableEntity,
            "passkey_challenge_invalid");
    }

    [Test]
    public async Task An_unknown_credential_is_refused()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        using var stranger = new SoftPasskey(Origin, RpId);
        stranger.ActFor(passkey);
        var response = await VerifyAsync(userId, stranger.Assert(await ChallengeAsync(userId)));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That(await LastFailureReasonAsync(userId), Is.EqualTo("unknown_credential"));
    }

    /// <summary>Another user's registered passkey, with its own valid signature and its own user handle, answering this user's
    /// challenge: the credential is looked up among this user's passkeys only, so it is unknown here — a failed verification
    /// of this user like any other, counted towards the per-minute limit — and it stays the other user's working passkey.
    /// (Looked up by credential id alone, it would pass every check of the assertion: its signature and user handle are those
    /// of its own stored credential.)</summary>
    [Test]
    public async Task Another_users_registered_passkey_is_refused_counted_for_this_user_and_still_works_for_its_own()
    {
        var (a, b) = (AuthApp.NewUserId(), AuthApp.NewUserId());
        var (passkeyA, _) = await EnablePasskeyAsync(a);
        var (passkeyB, _) = await EnablePasskeyAsync(b);

        var response = await VerifyAsync(a, passkeyB.Assert(await ChallengeAsync(a)));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That(await LastFailureReasonAsync(a), Is.EqualTo("unknown_credential"));
        Assert.That(await LastFailureReasonAsync(b), Is.Null, "nothing is counted for the passkey's owner");

        for (var i = 0; i < 4; i++) // the 2nd to 5th failures of the minute
        {
            await ProblemAssert.IsProblemAsync(await VerifyAsync(a, passkeyB.Assert(await ChallengeAsync(a))), HttpStatusCode.UnprocessableEntity,
                "invalid_passkey");
        }

        await ProblemAssert.IsProblemAsync(await VerifyAsync(a, passkeyA.Assert(await ChallengeAsync(a))), HttpStatusCode.TooManyRequests,
            "too_many_attempts");
        Assert.That((await VerifyAsync(b, passkeyB.Assert(await ChallengeAsync(b)))).StatusCode, Is.EqualTo(HttpStatusCode.OK),
            "B's passkey signs B in, under B's own limit");
    }

    [Test]
    public async Task A_bad_signature_is_refused()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var options = await ChallengeAsync(userId);
        var before = await Scrape.TakeAsync(App);
        var response = await VerifyAsync(userId, passkey.Assert(options, breakSignature: true));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That(await LastFailureReasonAsync(userId), Is.EqualTo("bad_signature"));
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"invalid_passkey\"}"), Is.EqualTo(1));
            Assert.That(after.Since(before, "authservice_passkey_counter_regressions_total"), Is.Zero, "not a clone");
        });
    }

    [TestCase(3u)]
    [TestCase(0u)]
    public async Task A_signature_counter_that_goes_backwards_is_refused_and_audited(uint regressed)
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        passkey.SignCount = 9;
        Assert.That((await VerifyAsync(userId, passkey.Assert(await ChallengeAsync(userId)))).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // A clone holding the same key but an older counter.
        passkey.SignCount = regressed == 0 ? uint.MaxValue : regressed - 1; // Assert increments (wrapping to 0)
        var options = await ChallengeAsync(userId);
        var before = await Scrape.TakeAsync(App);
        var response = await VerifyAsync(userId, passkey.Assert(options));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "passkey_counter_regression");
        // Counted twice, as OPERATIONS.md lists: a possible clone on its own counter, and a refused passkey verification.
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, "authservice_passkey_counter_regressions_total"), Is.EqualTo(1));
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"passkey_counter_regression\"}"),
                Is.EqualTo(1));
            Assert.That(after.Since(before, "authservice_verifications_total{method=\"passkey\",outcome=\"invalid_passkey\"}"), Is.Zero);
        });
        Assert.That(await EventsAsync(userId), Does.Contain("passkey_counter_regression"));
        Assert.That(await LastFailureReasonAsync(userId), Is.EqualTo("counter_regression"));

        // The event names the passkey, so that support can remove that one (it named none, only an AAGUID many passkeys share).
        var page = await JsonAsync(await Client.GetAsync($"/v1/users/{userId}/two-factor/events?limit=200"), HttpStatusCode.OK);
        var regression = page.GetProperty("items").EnumerateArray().First(e => e.GetProperty("type").GetString() == "passkey_counter_regression");
        var failure = page.GetProperty("items").EnumerateArray().First(e => e.GetProperty("type").GetString() == "verification_failed");
        var status = await JsonAsync(await Client.GetAsync($"/v1/users/{userId}/two-factor"), HttpStatusCode.OK);
        var passkeyId = status.GetProperty("factors")[0].GetProperty("id").GetGuid();
        Assert.That(regression.GetProperty("details").GetProperty("factorId").GetGuid(), Is.EqualTo(passkeyId));
        Assert.That(failure.GetProperty("details").GetProperty("factorId").GetGuid(), Is.EqualTo(passkeyId), "the refused assertion's failure too");
    }

    [Test]
    public async Task An_assertion_that_is_not_shaped_like_one_is_a_caller_bug()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, new { id = passkey.Id, rawId = passkey.Id, type = "public-key" }),
            HttpStatusCode.BadRequest, "validation_failed");
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, new { id = "x", rawId = passkey.Id, type = "public-key", response = new { } }),
            HttpStatusCode.BadRequest, "validation_failed");
    }

    [Test]
    public async Task Garbage_inside_the_binary_members_is_a_refused_assertion_not_a_500()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        await ChallengeAsync(userId);
        var response = await VerifyAsync(userId, new
        {
            id = passkey.Id, rawId = passkey.Id, type = "public-key",
            response = new { clientDataJSON = "e30", authenticatorData = "AAAA", signature = "AAAA" },
        });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_passkey");
    }

    [Test]
    public async Task A_passkey_sent_for_a_totp_user_is_refused()
    {
        var totp = await Flows.EnableTotpAsync(App, Client);
        using var passkey = new SoftPasskey(Origin, RpId);
        var fake = passkey.Assert(JsonDocument.Parse("""{"challenge":"AAAA"}""").RootElement);
        await ProblemAssert.IsProblemAsync(await VerifyAsync(totp.UserId, fake), HttpStatusCode.Conflict, "passkey_not_enabled");
    }

    /// <summary>The reason of the newest <c>verification_failed</c> event.</summary>
    private async Task<string?> LastFailureReasonAsync(string userId)
    {
        var page = await JsonAsync(await Client.GetAsync($"/v1/users/{userId}/two-factor/events?limit=200"), HttpStatusCode.OK);
        return page.GetProperty("items").EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == "verification_failed")
            .Select(e => e.GetProperty("details").GetProperty("reason").GetString())
            .FirstOrDefault();
    }
}
