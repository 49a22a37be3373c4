using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>SQL of the delivery ledger behind the budgets and caps of DESIGN §4 and §8.2. Every read here runs inside
/// the reservation transaction after its advisory locks, so a check and the insert it allows are one atomic step.</summary>
public static class DeliveryLedger
{
    /// <summary>The lock every reservation takes (after its user and number locks) to check the deployment-wide caps.</summary>
    public const string CapsLock = "telephony-caps";

    public static Task<bool> HasConfirmedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, byte[] phoneHash) =>
        connection.ExecuteScalarAsync<bool>(
            "select exists (select 1 from factors where user_id = @userId and method = 'phone' and phone_hash = @phoneHash)",
            new { userId, phoneHash }, transaction);

    /// <summary>Deliveries to a number in the window: by its confirmed owners, or by anyone who had not confirmed it.</summary>
    public static async Task<IReadOnlyList<DateTimeOffset>> NumberDeliveriesSinceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        byte[] phoneHash, bool confirmed, DateTimeOffset since)
    {
        var rows = await connection.QueryAsync<DateTime>(
            "select created_at from deliveries where phone_hash = @phoneHash and confirmed = @confirmed and created_at > @since order by created_at",
            new { phoneHash, confirmed, since }, transaction);
        return rows.Select(TwoFactorStore.Utc).ToList();
    }

    /// <summary>Deliveries of the whole deployment in the last day, and to <paramref name="country"/> in the last hour.</summary>
    public static async Task<(long Daily, long CountryHourly)> CountAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string country, DateTimeOffset dayAgo, DateTimeOffset hourAgo)
    {
        var counts = await connection.QuerySingleAsync<(long, long)>("""
            select (select count(*) from deliveries where created_at > @dayAgo),
                   (select count(*) from deliveries where country = @country and created_at > @hourAgo)
            """, new { country, dayAgo, hourAgo }, transaction);
        return counts;
    }

    /// <summary>When a rolling window holding <paramref name="count"/> entries next has room below <paramref name="cap"/>:
    /// the moment the entry that must leave it does.</summary>
    public static async Task<DateTimeOffset> RoomAtAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string? country,
        DateTimeOffset since, TimeSpan window, long count, int cap)
    {
        var leaving = await connection.ExecuteScalarAsync<DateTime?>("""
            select created_at from deliveries
            where created_at > @since and (@country::text is null or country = @country)
            order by created_at offset @skip limit 1
            """, new { since, country, skip = Math.Max(0, count - cap) }, transaction);
        return leaving is { } at ? TwoFactorStore.Utc(at) + window : since + window;
    }

    public static Task<long> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, byte[] phoneHash,
        string channel, bool confirmed, string country, DateTimeOffset now) =>
        connection.ExecuteScalarAsync<long>("""
            insert into deliveries (user_id, phone_hash, channel, confirmed, country, created_at)
            values (@userId, @phoneHash, @channel, @confirmed, @country, @now) returning id
            """, new { userId, phoneHash, channel, confirmed, country, now }, transaction);
}
