using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>SQL of the one in-flight claim a user may hold for a change that is proved by a code and sends one (migration
/// <c>0017_change_claims.sql</c>).</summary>
public static class ChangeClaimStore
{
    /// <summary>Claims the user's slot until <paramref name="lapsesAt"/>; false when another live claim holds it (one whose
    /// lapse has passed is taken over).</summary>
    public static async Task<bool> TryClaimAsync(NpgsqlConnection connection, string userId, Guid claimId, DateTimeOffset now,
        DateTimeOffset lapsesAt) =>
        await connection.ExecuteAsync("""
            insert into change_claims (user_id, claim_id, lapses_at) values (@userId, @claimId, @lapsesAt)
            on conflict (user_id) do update set claim_id = excluded.claim_id, lapses_at = excluded.lapses_at
            where change_claims.lapses_at <= @now
            """, new { userId, claimId, now, lapsesAt }) == 1;

    /// <summary>Gives the claim back (only this one: a lapsed claim another request took over is that request's).</summary>
    public static Task ReleaseAsync(NpgsqlConnection connection, string userId, Guid claimId) =>
        connection.ExecuteAsync("delete from change_claims where user_id = @userId and claim_id = @claimId", new { userId, claimId });
}
