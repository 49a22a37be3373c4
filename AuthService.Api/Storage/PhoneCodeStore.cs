using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

public sealed class PhoneCodeRow
{
    public Guid Id { get; init; }
    public Guid FactorId { get; init; }
    public string KeyId { get; init; } = "";
    public byte[] CodeHash { get; init; } = [];
    public int Attempts { get; init; }
}

/// <summary>SQL of sent phone codes: one live code per user and purpose, bound to the factor (or pending row) it was sent for,
/// attempts spent before comparing, single use.</summary>
public static class PhoneCodeStore
{
    /// <summary>Stores the newest code of a purpose, replacing (killing) the previous one. A code stored late
    /// by a slow request never overwrites a newer one: then nothing is stored and the answer is false.</summary>
    public static async Task<bool> UpsertCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose, Guid id,
        Guid factorId, string channel, string keyId, byte[] codeHash, DateTimeOffset createdAt, DateTimeOffset expiresAt) =>
        await connection.ExecuteAsync("""
            insert into phone_codes (user_id, purpose, id, factor_id, channel, key_id, code_hash, attempts, created_at, expires_at)
            values (@userId, @purpose, @id, @factorId, @channel, @keyId, @codeHash, 0, @createdAt, @expiresAt)
            on conflict (user_id, purpose) do update set
                id = excluded.id, factor_id = excluded.factor_id, channel = excluded.channel, key_id = excluded.key_id,
                code_hash = excluded.code_hash, attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at
            where phone_codes.created_at <= excluded.created_at
            """, new { userId, purpose, id, factorId, channel, keyId, codeHash, createdAt, expiresAt }, transaction) == 1;

    /// <summary>Spends one of the attempts of the live code of <paramref name="purpose"/> sent for one of <paramref name="factorIds"/>
    /// and returns it for comparison; null when there is none (a code of another factor or purpose is never found) or its attempts
    /// are used up. Spending before comparing keeps the per-code limit exact under concurrency.</summary>
    public static Task<PhoneCodeRow?> TakeAttemptAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose,
        Guid[] factorIds, int maxAttempts, DateTimeOffset now) =>
        connection.QuerySingleOrDefaultAsync<PhoneCodeRow>("""
            update phone_codes set attempts = attempts + 1
            where user_id = @userId and purpose = @purpose and factor_id = any(@factorIds) and expires_at > @now and attempts < @maxAttempts
            returning id, factor_id, key_id, code_hash, attempts
            """, new { userId, purpose, factorIds, maxAttempts, now }, transaction);

    /// <summary>Undoes <see cref="TakeAttemptAsync"/> for a code that matched and stays (a proof, spent later with its change).</summary>
    public static Task GiveBackAttemptAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose, Guid id) =>
        connection.ExecuteAsync("update phone_codes set attempts = attempts - 1 where user_id = @userId and purpose = @purpose and id = @id",
            new { userId, purpose, id }, transaction);

    /// <summary>Single use: the matched code is deleted once; false when another request consumed it first.</summary>
    public static async Task<bool> ConsumeCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose,
        Guid id) =>
        await connection.ExecuteAsync("delete from phone_codes where user_id = @userId and purpose = @purpose and id = @id",
            new { userId, purpose, id }, transaction) == 1;

    /// <summary>The pending code, if the pending row it was sent for is gone (an enrollment or a switch another one replaced): it
    /// confirms nothing, and goes at once. A code of a pending row that is still there stays, for that row (a switch to a phone
    /// stays confirmable while a TOTP app is being added).</summary>
    public static Task DeleteOrphanedPendingCodesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId) =>
        connection.ExecuteAsync("""
            delete from phone_codes c where c.user_id = @userId and c.purpose = 'pending'
                and not exists (select 1 from pending_factors p where p.user_id = c.user_id and p.id = c.factor_id)
            """, new { userId }, transaction);

    /// <summary>The login and proof codes sent for the user's current factor die with it (a switch).</summary>
    public static Task DeleteFactorCodesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId) =>
        connection.ExecuteAsync("delete from phone_codes where user_id = @userId and purpose <> 'pending'", new { userId }, transaction);

}
