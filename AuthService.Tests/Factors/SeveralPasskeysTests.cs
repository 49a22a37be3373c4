using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Passkeys;
using Npgsql;

namespace AuthService.Tests.Factors;

/// <summary>DESIGN §9.2 with passkeys: each passkey is a factor of its own; a login assertion may come from any of them, a
/// challenge may name one, and a removed passkey signs in no more.</summary>
public class SeveralPasskeysTests : PasskeyFixture
{
    private async Task<(SoftPasskey Second, Guid SecondId)> AddPasskeyAsync(string userId, SoftPasskey first)
    {
        var proofOptions = await ChallengeAsync(userId, "proof");
        var started = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "factors"),
            new { method = "passkey", label = "Security key", accountName = "ann@example.com", proof = new { credential = first.Assert(proofOptions) } }),
            HttpStatusCode.Created);
        var id = started.GetProperty("factorId").GetGuid();
        var excluded = started.GetProperty("options").GetProperty("excludeCredentials").EnumerateArray().Select(c => c.GetProperty("id").GetString());
        Assert.That(excluded, Does.Contain(first.Id), "the user's passkeys are excluded from a new registration");
        var second = new SoftPasskey(Origin, RpId);
        var confirmed = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, $"factors/{id}/confirm"),
            new { credential = second.Register(started.GetProperty("options")) }), HttpStatusCode.OK);
        Assert.That(confirmed.GetProperty("factor").GetProperty("label").GetString(), Is.EqualTo("Security key"));
        Assert.That(confirmed.TryGetProperty("backupCodes", out _), Is.False, "backup codes only when 2FA is enabled by the confirmation");
        return (second, id);
    }

    /// <summary>A user keeps one registration challenge, the newest passkey start's. Confirming an earlier start is refused and
    /// spends nothing of the newer one's: it used to take whatever challenge the user had, so the refusal spent the newer
    /// start's challenge too.</summary>
    [Test]
    public async Task Confirming_a_replaced_passkey_start_leaves_the_newer_ones_challenge()
    {
        var userId = AuthApp.NewUserId();
        var (first, _) = await EnablePasskeyAsync(userId);
        async Task<(Guid Id, JsonElement Options)> StartAsync(string label)
        {
            var proofOptions = await ChallengeAsync(userId, "proof");
            var started = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "factors"),
                new { method = "passkey", label, accountName = "ann@example.com", proof = new { credential = first.Assert(proofOptions) } }),
                HttpStatusCode.Created);
            return (started.GetProperty("factorId").GetGuid(), started.GetProperty("options"));
        }

        var replaced = await StartAsync("Key A");
        var newer = await StartAsync("Key B");

        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Path(userId, $"factors/{replaced.Id}/confirm"),
            new { credential = new SoftPasskey(Origin, RpId).Register(replaced.Options) }), HttpStatusCode.UnprocessableEntity, "passkey_challenge_invalid");
        await JsonAsync(await Client.PostAsJsonAsync(Path(userId, $"factors/{newer.Id}/confirm"),
            new { credential = new SoftPasskey(Origin, RpId).Register(newer.Options) }), HttpStatusCode.OK);
        Assert.That((await StatusAsync(userId)).GetProperty("factors").GetArrayLength(), Is.EqualTo(2));
    }

    [Test]
    public async Task A_second_passkey_is_a_factor_of_its_own_and_either_signs_in()
    {
        var userId = AuthApp.NewUserId();
        var (first, _) = await EnablePasskeyAsync(userId);
        var (second, secondId) = await AddPasskeyAsync(userId, first);

        var status = await StatusAsync(userId);
        Assert.That(status.GetProperty("factors").GetArrayLength(), Is.EqualTo(2));
        var options = await ChallengeAsync(userId);
        Assert.That(options.GetProperty("allowCredentials").GetArrayLength(), Is.EqualTo(2), "every passkey of the user is allowed");
        var verified = await JsonAsync(await VerifyAsync(userId, second.Assert(options)), HttpStatusCode.OK);
        Assert.That(verified.GetProperty("factorId").GetGuid(), Is.EqualTo(secondId));

        var named = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "challenge"), new { channel = "passkey", factorId = secondId }), HttpStatusCode.OK);
        var allowed = named.GetProperty("options").GetProperty("allowCredentials").EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
        Assert.That(allowed, Is.EqualTo(new[] { second.Id }));
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, first.Assert(named.GetProperty("options"))), HttpStatusCode.UnprocessableEntity,
            "passkey_challenge_invalid");
    }

    [Test]
    public async Task A_removed_passkey_signs_in_no_more_and_cannot_prove_its_own_removal()
    {
        var userId = AuthApp.NewUserId();
        var (first, backupCodes) = await EnablePasskeyAsync(userId);
        var (second, secondId) = await AddPasskeyAsync(userId, first);

        var ownProof = await ChallengeAsync(userId, "proof");
        await ProblemAssert.IsProblemAsync(await Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, Path(userId, $"factors/{secondId}"))
        {
            Content = JsonContent.Create(new { proof = new { credential = second.Assert(ownProof) } }),
        }), HttpStatusCode.UnprocessableEntity, "invalid_passkey");

        var proof = await ChallengeAsync(userId, "proof");
        var removed = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, Path(userId, $"factors/{secondId}"))
        {
            Content = JsonContent.Create(new { proof = new { credential = first.Assert(proof) } }),
        });
        Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await removed.Content.ReadAsStringAsync());

        var options = await ChallengeAsync(userId);
        Assert.That(options.GetProperty("allowCredentials").GetArrayLength(), Is.EqualTo(1));
        await ProblemAssert.IsProblemAsync(await VerifyAsync(userId, second.Assert(options)), HttpStatusCode.UnprocessableEntity, "invalid_passkey");
        Assert.That(backupCodes, Has.Count.EqualTo(10));
    }

    /// <summary>DESIGN §9.2 under a race: a removal proved by a passkey whose own passkey is removed while it waits for the user's
    /// lock (held here by a test transaction that removes it) finds the factor it removes to be the user's last. It answers 409
    /// <c>last_factor</c>, as a removal proved by a code does, and keeps the factor; it used to answer that the user had no passkey.</summary>
    [Test]
    public async Task A_removal_whose_proving_passkey_went_meanwhile_is_told_last_factor()
    {
        var userId = AuthApp.NewUserId();
        var (first, _) = await EnablePasskeyAsync(userId);
        var (_, secondId) = await AddPasskeyAsync(userId, first);
        var firstId = (await StatusAsync(userId)).GetProperty("factors").EnumerateArray().Select(f => f.GetProperty("id").GetGuid())
            .Single(id => id != secondId);
        var proof = await ChallengeAsync(userId, "proof");

        Task<HttpResponseMessage> removal;
        await using (var holder = new NpgsqlConnection(App.ConnectionString))
        {
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await AttemptLedger.LockUserAsync(holder, transaction, userId);
            removal = Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, Path(userId, $"factors/{secondId}"))
            {
                Content = JsonContent.Create(new { proof = new { credential = first.Assert(proof) } }),
            });
            await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
            Assert.That(await TwoFactorStore.DeleteFactorAsync(holder, transaction, userId, firstId, App.Time.GetUtcNow()), Is.True);
            await transaction.CommitAsync();
        }

        await ProblemAssert.IsProblemAsync(await removal, HttpStatusCode.Conflict, "last_factor");
        var left = (await StatusAsync(userId)).GetProperty("factors").EnumerateArray().Select(f => f.GetProperty("id").GetGuid());
        Assert.That(left, Is.EqualTo(new[] { secondId }), "the user keeps a factor");
    }

    /// <summary>Answered passkey options that name no factor list every passkey of the user: a passkey's removal drops their
    /// Idempotency-Keys (a retry gets options without it), while another factor's removal keeps them, so a retry still gets
    /// the options a browser may be answering. Any removal used to drop them, and the retry replaced that challenge.</summary>
    [Test]
    public async Task Keyed_passkey_options_outlive_the_removal_of_a_factor_they_do_not_list()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var (_, secondId) = await AddPasskeyAsync(userId, passkey);
        var added = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "factors"),
            new { method = "totp", proof = new { credential = passkey.Assert(await ChallengeAsync(userId, "proof")) } }), HttpStatusCode.Created);
        var totpId = added.GetProperty("factorId").GetGuid();
        var secret = OtpNet.Base32Encoding.ToBytes(added.GetProperty("secret").GetString());
        await JsonAsync(await Client.PostAsJsonAsync(Path(userId, $"factors/{totpId}/confirm"), new { code = Flows.Code(secret, App.Time.GetUtcNow()) }),
            HttpStatusCode.OK);
        async Task<string> KeyedChallengeAsync(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Path(userId, "challenge")) { Content = JsonContent.Create(new { channel = "passkey" }) };
            request.Headers.Add("Idempotency-Key", key);
            return (await JsonAsync(await Client.SendAsync(request), HttpStatusCode.OK)).GetProperty("options").GetProperty("challenge").GetString()!;
        }

        async Task RemoveAsync(Guid factorId)
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, Path(userId, $"factors/{factorId}"))
            {
                Content = JsonContent.Create(new { proof = new { credential = passkey.Assert(await ChallengeAsync(userId, "proof")) } }),
            };
            var removed = await Client.SendAsync(request);
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await removed.Content.ReadAsStringAsync());
        }

        var first = await KeyedChallengeAsync("options-1");
        await RemoveAsync(totpId);
        Assert.That(await KeyedChallengeAsync("options-1"), Is.EqualTo(first), "a TOTP removal leaves the options as they were");
        await RemoveAsync(secondId);
        Assert.That(await KeyedChallengeAsync("options-1"), Is.Not.EqualTo(first), "a passkey's removal drops the options that listed it");
    }
}
