using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

public sealed class PhoneCodeRow
{
    public Guid Id { get; init; }
    public string KeyId { get; init; } = "";
    public byte[] CodeHash { get; init; } = [];
    public int Attempts { get; init; }
}

/// <summary>SQL of sent phone codes: one live code per user and purpose, attempts spent before comparing, single use.</summary>
public static class PhoneCodeStore
{
    /// <summary>Stores the newest code of a purpose, replacing (killing) the previous one. A code stored late
    /// by a slow request never overwrites a newer one.</summary>
    public static Task UpsertCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose, Guid id,
        string channel, string keyId, byte[] codeHash, DateTimeOffset createdAt, DateTimeOffset expiresAt) =>
        connection.ExecuteAsync("""
            insert into phone_codes (user_id, purpose, id, channel, key_id, code_hash, attempts, created_at, expires_at)
            values (@userId, @purpose, @id, @channel, @keyId, @codeHash, 0, @createdAt, @expiresAt)
            on conflict (user_id, purpose) do update set
                id = excluded.id, channel = excluded.channel, key_id = excluded.key_id, code_hash = excluded.code_hash,
                attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at
            where phone_codes.created_at <= excluded.created_at
            """, new { userId, purpose, id, channel, keyId, codeHash, createdAt, expiresAt }, transaction);

    /// <summary>Spends one of the code's attempts and returns it for comparison; null when there is no live code
    /// or its attempts are used up. Spending before comparing keeps the per-code limit exact under concurrency.</summary>
    public static Task<PhoneCodeRow?> TakeAttemptAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose,
        int maxAttempts, DateTimeOffset now) =>
        connection.QuerySingleOrDefaultAsync<PhoneCodeRow>("""
            update phone_codes set attempts = attempts + 1
            where user_id = @userId and purpose = @purpose and expires_at > @now and attempts < @maxAttempts
            returning id, key_id, code_hash, attempts
            """, new { userId, purpose, maxAttempts, now }, transaction);

    /// <summary>Single use: the matched code is deleted once; false when another request consumed it first.</summary>
    public static async Task<bool> ConsumeCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose,
        Guid id) =>
        await connection.ExecuteAsync("delete from phone_codes where user_id = @userId and purpose = @purpose and id = @id",
            new { userId, purpose, id }, transaction) == 1;

    public static Task DeleteCodesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string? purpose = null) =>
        connection.ExecuteAsync("delete from phone_codes where user_id = @userId and (@purpose::text is null or purpose = @purpose)",
            new { userId, purpose }, transaction);

}
