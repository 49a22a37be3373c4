using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>The Idempotency-Key statements: claim once, replay the stored answer, release, and a lapsed claim.</summary>
public class IdempotencyStoreTests : AppFixture
{
    private static readonly byte[] Request = [1, 2, 3];

    private async Task<IdempotencyRecord?> BeginAsync(string userId, string key, DateTimeOffset now, byte[]? fingerprint = null)
    {
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        return await IdempotencyStore.BeginAsync(connection, userId, key, fingerprint ?? Request, null, now);
    }

    private async Task CompleteAsync(string userId, string key, string? response, int status, DateTimeOffset? claimedAt = null)
    {
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        await IdempotencyStore.CompleteAsync(connection, userId, key, claimedAt ?? Now, response, status);
    }

    [Test]
    public async Task A_key_is_claimed_once_then_replays_its_answer()
    {
        var userId = AuthApp.NewUserId();

        Assert.That(await BeginAsync(userId, "k", Now), Is.Null, "claimed");
        var inProgress = await BeginAsync(userId, "k", Now, fingerprint: [9]);
        Assert.That((inProgress?.Status, inProgress?.Response, inProgress?.Fingerprint), Is.EqualTo(((int?)null, (string?)null, Request)),
            "in progress, with the fingerprint of the request that claimed it (not of the one asking)");
        Assert.That(await BeginAsync(AuthApp.NewUserId(), "k", Now), Is.Null, "keys are per user");

        await CompleteAsync(userId, "k", """{"channel":"sms"}""", 202);
        var replay = await BeginAsync(userId, "k", Now.AddHours(23));
        Assert.That(replay?.Status, Is.EqualTo(202));
        Assert.That(replay?.Fingerprint, Is.EqualTo(Request));
        Assert.That(replay?.Response, Does.Contain("\"channel\""));
        Assert.That(await BeginAsync(userId, "k", Now.AddHours(24)), Is.Null, "an answered key lives 24 hours");
    }

    [Test]
    public async Task A_released_key_and_a_lapsed_claim_can_be_claimed_again()
    {
        var userId = AuthApp.NewUserId();
        await BeginAsync(userId, "released", Now);
        await CompleteAsync(userId, "released", null, 0);
        Assert.That(await BeginAsync(userId, "released", Now), Is.Null);

        await BeginAsync(userId, "orphan", Now);
        Assert.That(await BeginAsync(userId, "orphan", Now + IdempotencyStore.Lease - TimeSpan.FromSeconds(1)), Is.Not.Null, "still leased");
        Assert.That(await BeginAsync(userId, "orphan", Now + IdempotencyStore.Lease), Is.Null, "lapsed");
    }

    /// <summary>A request that outlived its lease (another request with the key has claimed it since) neither answers for the
    /// later request nor releases its claim: a third retry must not send a third code.</summary>
    [Test]
    public async Task A_request_that_outlived_its_lease_cannot_complete_or_release_the_next_claim()
    {
        var userId = AuthApp.NewUserId();
        await BeginAsync(userId, "slow", Now);
        var later = Now + IdempotencyStore.Lease + TimeSpan.FromTicks(7); // below a microsecond: the claim's identity survives the rounding
        byte[] second = [7];
        Assert.That(await BeginAsync(userId, "slow", later, second), Is.Null, "the lapsed claim is taken over");

        await CompleteAsync(userId, "slow", """{"first":true}""", 202, claimedAt: Now);
        var afterAnswer = await BeginAsync(userId, "slow", later + TimeSpan.FromSeconds(1), [9]);
        Assert.That((afterAnswer?.Status, afterAnswer?.Response, afterAnswer?.Fingerprint), Is.EqualTo(((int?)null, (string?)null, second)),
            "still the later request's claim, in progress");

        await CompleteAsync(userId, "slow", null, 0, claimedAt: Now);
        var afterRelease = await BeginAsync(userId, "slow", later + TimeSpan.FromSeconds(1), [9]);
        Assert.That((afterRelease?.Status, afterRelease?.Fingerprint), Is.EqualTo(((int?)null, second)), "not released either");

        await CompleteAsync(userId, "slow", """{"second":true}""", 202, claimedAt: later);
        Assert.That((await BeginAsync(userId, "slow", later + TimeSpan.FromSeconds(2)))?.Response, Does.Contain("second"));
    }
}
