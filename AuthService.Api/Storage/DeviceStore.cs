using AuthService.Api.Events;
using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>A remembered device as listed: never its token or the token's hash.</summary>
public sealed class DeviceRow
{
    public Guid Id { get; init; }
    public string Label { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime? LastUsedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
}

/// <summary>SQL of <c>remembered_devices</c> (DESIGN §9.3). A token is only ever looked up by its hash (unique index), and
/// the user is compared after the lookup, so an unknown, revoked (deleted), expired or other user's token costs the same
/// statement. Revocation by a factor change or a lockout is done by the database's triggers (migration 0009).</summary>
public static class DeviceStore
{
    /// <summary>A live token of <paramref name="userId"/>: marks it used and returns true; false for any other token. One
    /// statement: the index lookup by hash, then expiry and user compared on the row found.</summary>
    public static async Task<bool> TouchByTokenHashAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId, byte[] tokenHash,
        DateTimeOffset now) =>
        await connection.ExecuteAsync("""
            update remembered_devices set last_used_at = @now
            where token_hash = @tokenHash and expires_at > @now and user_id = @userId
            """, new { userId, tokenHash, now }, transaction) == 1;

    /// <summary>Whether <paramref name="tokenHash"/> is a live token of <paramref name="userId"/>, without marking it used (a
    /// verify asks only whether it is a new device). The same index lookup by hash, expiry and user compared on the row found.</summary>
    public static async Task<bool> IsLiveAsync(NpgsqlConnection connection, string userId, byte[] tokenHash, DateTimeOffset now) =>
        await connection.ExecuteScalarAsync<bool>("""
            select exists (select 1 from remembered_devices where token_hash = @tokenHash and expires_at > @now and user_id = @userId)
            """, new { userId, tokenHash, now });

    /// <summary>Stores a browser a login remembers, with its event, and drops the user's oldest devices beyond
    /// <see cref="DeviceToRemember.MaxPerUser"/> (told as <c>devices_revoked</c>, cause <c>limit</c>). Called only in the login's
    /// transaction, under the user's lock, after its proof was spent there: the factor that proved it is the user's and the user
    /// is not locked at this point, and any later removal, switch, reset or lockout revokes the device (migration 0009's triggers).</summary>
    public static async Task RememberAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, DeviceToRemember device,
        DateTimeOffset now, Guid? actor)
    {
        await connection.ExecuteAsync("""
            insert into remembered_devices (id, user_id, token_hash, label, created_at, expires_at)
            values (@Id, @userId, @TokenHash, @Label, @now, @ExpiresAt)
            """, new { device.Id, userId, device.TokenHash, device.Label, now, device.ExpiresAt }, transaction);
        await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.DeviceRemembered(device.Id, device.Label, device.ExpiresAt), now, actor);
        var dropped = await DeleteBeyondAsync(connection, transaction, userId, device.MaxPerUser, now);
        if (dropped > 0)
        {
            await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.DevicesRevoked(dropped, "limit"), now, actor);
        }
    }

    /// <summary>Keeps the user's <paramref name="max"/> newest live devices; returns how many older live ones it deleted. Expired
    /// rows that housekeeping has not removed yet count for nothing: they take no place of a live device, and are not told as
    /// revoked (they are deleted here all the same, as <see cref="DeleteAllByUserIdAsync"/> does, without counting them).</summary>
    private static async Task<int> DeleteBeyondAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, int max,
        DateTimeOffset now)
    {
        await connection.ExecuteAsync("delete from remembered_devices where user_id = @userId and expires_at <= @now", new { userId, now }, transaction);
        return await connection.ExecuteAsync("""
            delete from remembered_devices where id in (
                select id from remembered_devices where user_id = @userId order by created_at desc, id desc offset @max)
            """, new { userId, max }, transaction);
    }

    /// <summary>The user's live devices, newest first.</summary>
    public static async Task<IReadOnlyList<DeviceRow>> ListByUserIdAsync(NpgsqlConnection connection, string userId, DateTimeOffset now) =>
        (await connection.QueryAsync<DeviceRow>("""
            select id, label, created_at, last_used_at, expires_at from remembered_devices
            where user_id = @userId and expires_at > @now order by created_at desc, id desc
            """, new { userId, now })).AsList();

    /// <summary>Revokes one device of the user; false when the user has no live device with this id (an expired one, which the
    /// list no longer shows and no token reaches, is deleted all the same, and is not found: the answer matches the list).</summary>
    public static async Task<bool> DeleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, Guid id,
        DateTimeOffset now) =>
        await connection.ExecuteScalarAsync<bool>("""
            with d as (delete from remembered_devices where user_id = @userId and id = @id returning expires_at)
            select coalesce(bool_or(expires_at > @now), false) from d
            """, new { userId, id, now }, transaction);

    /// <summary>Revokes every device of the user; returns how many were live (expired ones go too, uncounted).</summary>
    public static Task<int> DeleteAllByUserIdAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, DateTimeOffset now) =>
        connection.ExecuteScalarAsync<int>("""
            with d as (delete from remembered_devices where user_id = @userId returning expires_at)
            select count(*)::int from d where expires_at > @now
            """, new { userId, now }, transaction);
}
