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
        return await IdempotencyStore.BeginAsync(connection, userId, key, fingerprint ?? Request, now);
    }

    private async Task CompleteAsync(string userId, string key, string? response, int status)
    {
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        await IdempotencyStore.CompleteAsync(connection, userId, key, response, status);
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
}
