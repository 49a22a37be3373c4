using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>Prompt skips stop at their maximum in one statement; a support reset removes every trace of the factor; a
/// pending row started earlier never replaces a later one.</summary>
public class PromptAndResetStoreTests : AppFixture
{
    [Test]
    public async Task Skips_are_counted_up_to_the_maximum_even_when_concurrent()
    {
        var userId = AuthApp.NewUserId();

        var counts = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            await using var connection = await OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            var skips = await PromptSkipStore.TryAddSkipAsync(connection, transaction, userId, Now, maxSkips: 3);
            await transaction.CommitAsync();
            return skips;
        }));

        Assert.That(counts.Where(c => c is not null).Order(), Is.EqualTo(new int?[] { 1, 2, 3 }));
        await using var reader = await OpenAsync();
        Assert.That((await PromptSkipStore.GetLoginStateByUserIdAsync(reader, userId)).PromptSkips, Is.EqualTo(3));
    }

    [Test]
    public async Task A_reset_deletes_the_factor_and_everything_that_hangs_on_it()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync("insert into verification_failures (user_id, created_at) values (@u, @now)", new { u = user.UserId, now = Now });

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.That(await TwoFactorStore.DeleteAllByUserIdAsync(connection, transaction, user.UserId), Is.True);
            await transaction.CommitAsync();
        }

        var left = await connection.ExecuteScalarAsync<long>("""
            select (select count(*) from factors where user_id = @u) + (select count(*) from backup_codes where user_id = @u)
                 + (select count(*) from verification_failures where user_id = @u)
            """, new { u = user.UserId });
        Assert.That(left, Is.Zero);
        await using var again = await connection.BeginTransactionAsync();
        Assert.That(await TwoFactorStore.DeleteAllByUserIdAsync(connection, again, user.UserId), Is.False, "nothing left to reset");
    }

    [Test]
    public async Task A_pending_row_started_earlier_never_replaces_a_later_one()
    {
        var userId = AuthApp.NewUserId();
        var later = new PendingRow { UserId = userId, Id = Guid.NewGuid(), Purpose = "enroll", Method = "totp", CreatedAt = Now.UtcDateTime, ExpiresAt = Now.AddMinutes(10).UtcDateTime };
        var earlier = later with { Id = Guid.NewGuid(), CreatedAt = Now.AddSeconds(-1).UtcDateTime };
        await using var connection = await OpenAsync();
        await TwoFactorStore.UpsertPendingAsync(connection, null, later);
        await TwoFactorStore.UpsertPendingAsync(connection, null, earlier);

        Assert.That((await TwoFactorStore.GetPendingAsync(connection, null, userId, Now))?.Id, Is.EqualTo(later.Id));
    }
}
