using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>The first request's record: its answer (<see cref="Status"/> null while in progress) and the fingerprint of the
/// request it answered.</summary>
public sealed record IdempotencyRecord(int? Status, string? Response, byte[]? Fingerprint, DateTime? ClaimedAt = null);

/// <summary>Idempotency-Key of challenge requests. The first request with a key claims it; a retry with the same
/// key gets the stored answer and sends nothing. A failed first attempt releases the key so it can be retried; a claim
/// whose request died without releasing it (a crashed instance, a lost database connection) lapses after
/// <see cref="Lease"/>. Answered keys live 24 hours.</summary>
public static class IdempotencyStore
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>How long an unanswered claim blocks retries: short enough that a stuck key costs a retrying client a minute, not
    /// a day. A keyed challenge starts no send it could not finish within it (<c>IdempotentRequests.MaySendBy</c>), and a
    /// request that outlives it anyway cannot complete a later claim (<see cref="CompleteAsync"/>).</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    /// <summary>Null when this request claimed the key (with <paramref name="fingerprint"/>, the request it answers, and
    /// <paramref name="factorId"/>, the factor it is for); otherwise the record of the first request
    /// (<see cref="IdempotencyRecord.Status"/> null while it is still in progress).</summary>
    public static async Task<IdempotencyRecord?> BeginAsync(NpgsqlConnection connection, string userId, string key, byte[] fingerprint,
        Guid? factorId, DateTimeOffset now)
    {
        var claimed = await connection.ExecuteAsync("""
            insert into idempotency_keys (user_id, key, fingerprint, factor_id, created_at) values (@userId, @key, @fingerprint, @factorId, @now)
            on conflict (user_id, key) do update set status = null, response = null, fingerprint = excluded.fingerprint,
                factor_id = excluded.factor_id, created_at = excluded.created_at
            where idempotency_keys.created_at <= @expired or (idempotency_keys.status is null and idempotency_keys.created_at <= @lapsed)
            """, new { userId, key, fingerprint, factorId, now, expired = now - Lifetime, lapsed = now - Lease });
        if (claimed == 1)
        {
            return null;
        }

        return await connection.QuerySingleOrDefaultAsync<IdempotencyRecord>(
            """
            select status, response::text as response, fingerprint, created_at as claimedAt from idempotency_keys
            where user_id = @userId and key = @key
            """,
            new { userId, key })
            ?? new IdempotencyRecord(null, null, null);
    }

    /// <summary>Stores the answer to replay, or releases the key when the request failed (<paramref name="response"/> null), if
    /// the claim made at <paramref name="claimedAt"/> still holds it: a request that outlived its lease, whose key another
    /// request has claimed since, neither answers for that request nor releases its claim.</summary>
    public static async Task CompleteAsync(NpgsqlConnection connection, string userId, string key, DateTimeOffset claimedAt, string? response,
        int status)
    {
        if (response is null)
        {
            await connection.ExecuteAsync(
                "delete from idempotency_keys where user_id = @userId and key = @key and created_at = @claimedAt and status is null",
                new { userId, key, claimedAt });
        }
        else
        {
            await connection.ExecuteAsync("""
                update idempotency_keys set status = @status, response = @response::jsonb
                where user_id = @userId and key = @key and created_at = @claimedAt and status is null
                """, new { userId, key, claimedAt, response, status });
        }
    }
}
