using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

public sealed class BypassCodeRow
{
    public Guid Id { get; init; }
    public string KeyId { get; init; } = "";
    public byte[] CodeHash { get; init; } = [];
    public int UsesLeft { get; init; }
    public string Ticket { get; init; } = "";
}

/// <summary>SQL of support bypass codes (<c>bypass_codes</c>): only the keyed hash is stored; a code is live while it has uses
/// left and has not expired; each use is one conditional step.</summary>
public static class BypassCodeStore
{
    public static Task<int> CountLiveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, DateTimeOffset now) =>
        connection.ExecuteScalarAsync<int>(
            "select count(*)::int from bypass_codes where user_id = @userId and uses_left > 0 and expires_at > @now",
            new { userId, now }, transaction);

    public static Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string userId, string keyId,
        byte[] codeHash, int uses, DateTimeOffset expiresAt, string reason, string ticket, DateTimeOffset now, Guid? apiKeyId) =>
        connection.ExecuteAsync("""
            insert into bypass_codes (id, user_id, key_id, code_hash, uses_left, expires_at, reason, ticket, created_at, api_key_id)
            values (@id, @userId, @keyId, @codeHash, @uses, @expiresAt, @reason, @ticket, @now, @apiKeyId)
            """, new { id, userId, keyId, codeHash, uses, expiresAt, reason, ticket, now, apiKeyId }, transaction);

    /// <summary>The user's live codes, to compare against (at most <c>BypassCodeRules.MaxLivePerUser</c>).</summary>
    public static async Task<IReadOnlyList<BypassCodeRow>> GetLiveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string userId, DateTimeOffset now) =>
        (await connection.QueryAsync<BypassCodeRow>(
            "select id, key_id, code_hash, uses_left, ticket from bypass_codes where user_id = @userId and uses_left > 0 and expires_at > @now",
            new { userId, now }, transaction)).AsList();

    /// <summary>Spends one use of a live code and, as any accepted proof, resets the user's consecutive-failure count: the uses
    /// left after it, or null when it is gone (revoked, expired, or its last use spent by another request first). A spent code
    /// stays until it expires (housekeeping prunes it), never live again.</summary>
    public static Task<int?> TryUseAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, Guid id, DateTimeOffset now) =>
        connection.QuerySingleOrDefaultAsync<int?>("""
            with used as (
                update bypass_codes set uses_left = uses_left - 1
                where id = @id and user_id = @userId and uses_left > 0 and expires_at > @now
                returning uses_left
            ), reset as (
                update two_factor_users set failed_consecutive = 0, updated_at = @now
                where user_id = @userId and failed_consecutive <> 0 and exists (select 1 from used)
            )
            select uses_left from used
            """, new { id, userId, now }, transaction);

    /// <summary>Revokes every code of the user; the number of live codes revoked.</summary>
    public static Task<int> DeleteAllByUserIdAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, DateTimeOffset now) =>
        connection.ExecuteScalarAsync<int>("""
            with d as (delete from bypass_codes where user_id = @userId returning uses_left, expires_at)
            select count(*)::int from d where uses_left > 0 and expires_at > @now
            """, new { userId, now }, transaction);
}
