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
}
