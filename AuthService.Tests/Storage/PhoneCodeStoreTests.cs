using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>The statements behind a sent code's rules: one live code per purpose (a late write never replaces a newer
/// code), attempts spent before comparing, expiry, and single use.</summary>
public class PhoneCodeStoreTests : AppFixture
{
    private async Task<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work)
    {
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var result = await work(connection, transaction);
        await transaction.CommitAsync();
        return result;
    }

    private static readonly Guid Factor = Guid.NewGuid();

    private Task<int> UpsertAsync(string userId, Guid id, DateTimeOffset createdAt, string purpose = "login", Guid? factorId = null) =>
        InTransactionAsync(async (c, t) =>
        {
            await PhoneCodeStore.UpsertCodeAsync(c, t, userId, purpose, id, factorId ?? Factor, "sms", "k1", [1, 2, 3], createdAt, createdAt.AddMinutes(10));
            return 0;
        });

    private Task<PhoneCodeRow?> TakeAsync(string userId, DateTimeOffset now, string purpose = "login", Guid? factorId = null) =>
        InTransactionAsync((c, t) => PhoneCodeStore.TakeAttemptAsync(c, t, userId, purpose, [factorId ?? Factor], 3, now));

    [Test]
    public async Task A_code_is_found_only_for_its_factor_and_purpose()
    {
        var userId = AuthApp.NewUserId();
        var id = Guid.NewGuid();
        await UpsertAsync(userId, id, Now);

        Assert.That(await TakeAsync(userId, Now, factorId: Guid.NewGuid()), Is.Null, "a code sent for another factor is never looked at");
        Assert.That(await TakeAsync(userId, Now, purpose: "proof"), Is.Null, "a login code is no proof");
        Assert.That((await TakeAsync(userId, Now))?.Attempts, Is.EqualTo(1), "the refused look-ups spent none of its attempts");
    }

    [Test]
    public async Task A_code_written_late_never_replaces_a_newer_one()
    {
        var userId = AuthApp.NewUserId();
        var (older, newer) = (Guid.NewGuid(), Guid.NewGuid());
        await UpsertAsync(userId, newer, Now);
        await UpsertAsync(userId, older, Now.AddSeconds(-1));

        Assert.That((await TakeAsync(userId, Now))?.Id, Is.EqualTo(newer));
    }

    [Test]
    public async Task Attempts_stop_at_the_limit_and_an_expired_code_gives_none()
    {
        var userId = AuthApp.NewUserId();
        await UpsertAsync(userId, Guid.NewGuid(), Now);

        var attempts = new List<int?>();
        for (var i = 0; i < 4; i++)
        {
            attempts.Add((await TakeAsync(userId, Now))?.Attempts);
        }

        Assert.That(attempts, Is.EqualTo(new int?[] { 1, 2, 3, null }));
        var other = AuthApp.NewUserId();
        await UpsertAsync(other, Guid.NewGuid(), Now);
        Assert.That(await TakeAsync(other, Now.AddMinutes(10)), Is.Null, "expired at its expiry");
    }

    [Test]
    public async Task A_code_is_consumed_once_and_only_by_its_id()
    {
        var userId = AuthApp.NewUserId();
        var id = Guid.NewGuid();
        await UpsertAsync(userId, id, Now);

        Assert.That(await InTransactionAsync((c, t) => PhoneCodeStore.ConsumeCodeAsync(c, t, userId, "login", Guid.NewGuid())), Is.False);
        Assert.That(await InTransactionAsync((c, t) => PhoneCodeStore.ConsumeCodeAsync(c, t, userId, "login", id)), Is.True);
        Assert.That(await InTransactionAsync((c, t) => PhoneCodeStore.ConsumeCodeAsync(c, t, userId, "login", id)), Is.False);
    }
}
