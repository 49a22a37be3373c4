using AuthService.Core.Factors;
using AuthService.Core.Phone;
using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>SQL of the delivery ledger behind the budgets and caps of DESIGN §4 and §8.2. Every read here runs inside
/// the reservation transaction after its advisory locks, so a check and the insert it allows are one atomic step.</summary>
public static class DeliveryLedger
{
    /// <summary>The lock every reservation takes (after its user and number locks) to check the deployment-wide caps.</summary>
    public const string CapsLock = "telephony-caps";

    /// <summary>Serialises the rules of one user (and one phone number) across connections and instances for the
    /// rest of the transaction: limit checks and their ledger inserts become one atomic step.</summary>
    public static Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string scope, string value) =>
        connection.ExecuteAsync("select pg_advisory_xact_lock(hashtextextended(@key, 0))", new { key = scope + ":" + value }, transaction);

    public static async Task<IReadOnlyList<DateTimeOffset>> DeliveriesSinceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string? userId, byte[]? phoneHash, DateTimeOffset since)
    {
        var sql = userId is not null
            ? "select created_at from deliveries where user_id = @userId and user_budget and created_at > @since order by created_at"
            : "select created_at from deliveries where phone_hash = @phoneHash and created_at > @since order by created_at";
        var rows = await connection.QueryAsync<DateTime>(sql, new { userId, phoneHash, since }, transaction);
        return rows.Select(Timestamps.Utc).ToList();
    }

    /// <summary>Gives a reserved delivery back when the provider did not take the message.</summary>
    public static Task RefundAsync(NpgsqlConnection connection, long deliveryId, NpgsqlTransaction? transaction = null) =>
        connection.ExecuteAsync("delete from deliveries where id = @deliveryId", new { deliveryId }, transaction);

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
        return rows.Select(Timestamps.Utc).ToList();
    }

    /// <summary>
    /// The deployment-wide caps, decided exactly. One batch (one round trip) takes the caps lock, then — in a second
    /// statement, whose snapshot therefore sees every reservation committed under the lock before — counts the rolling
    /// day and the country's rolling hour and inserts the delivery. Returns the counts before the insert and the new
    /// delivery id, or null when not inserted. The lock is held only until the caller commits, right after.
    /// <para>Taken <em>shared</em> (<paramref name="shared"/>), reservations run in parallel, so the statement inserts only
    /// far below the caps: while count + max_connections stays below each cap, in either mode. Every reservation in flight
    /// holds a connection, so at most max_connections can be uncommitted at once, and a count that low stays below the cap
    /// whatever commits meanwhile. Otherwise nothing is inserted and the caller decides again under the <em>exclusive</em>
    /// lock, where the statement sees every other reservation and inserts below the caps (always, when not
    /// <paramref name="enforce"/>: monitor mode counts and alerts). One statement decides both, and counts the window once
    /// per reservation far from the caps, twice near them.</para>
    /// </summary>
    public static async Task<(long Daily, long CountryHourly, long? Id)> ReserveUnderCapsAsync(NpgsqlConnection connection,
        NpgsqlTransaction transaction, string userId, byte[] phoneHash, CodeChannel channel, bool confirmed, string country, DateTimeOffset now,
        int dailyCap, int countryHourlyCap, bool enforce, bool shared)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            shared ? "select pg_advisory_xact_lock_shared(hashtextextended($1, 0))" : "select pg_advisory_xact_lock(hashtextextended($1, 0))")
        {
            Parameters = { new NpgsqlParameter { Value = CapsLock + ":all" } },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            with counts as (
                select (select count(*) from deliveries where created_at > $1) as daily,
                       (select count(*) from deliveries where country = $2 and created_at > $3) as hourly),
            reserved as (
                insert into deliveries (user_id, phone_hash, channel, confirmed, country, created_at)
                select $4, $5, $6, $7, $2, $8 from counts
                where case when $12 then daily + current_setting('max_connections')::bigint < $10
                                         and hourly + current_setting('max_connections')::bigint < $11
                           else not $9 or (daily < $10 and hourly < $11) end
                returning id)
            select daily, hourly, (select id from reserved) from counts
            """)
        {
            Parameters =
            {
                new NpgsqlParameter { Value = now - DeliveryWindows.Day },
                new NpgsqlParameter { Value = country },
                new NpgsqlParameter { Value = now - DeliveryWindows.Hour },
                new NpgsqlParameter { Value = userId },
                new NpgsqlParameter { Value = phoneHash },
                new NpgsqlParameter { Value = channel.ToWire() },
                new NpgsqlParameter { Value = confirmed },
                new NpgsqlParameter { Value = now },
                new NpgsqlParameter { Value = enforce },
                new NpgsqlParameter { Value = (long)dailyCap },
                new NpgsqlParameter { Value = (long)countryHourlyCap },
                new NpgsqlParameter { Value = shared },
            },
        });
        await using var reader = await batch.ExecuteReaderAsync();
        await reader.NextResultAsync(); // the lock's row
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt64(2));
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
        return leaving is { } at ? Timestamps.Utc(at) + window : since + window;
    }
}
