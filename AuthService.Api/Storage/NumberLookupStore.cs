using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>One cached Number Lookup answer (migration 0012): the line type as Telnyx spelled it (lower case), the date the
/// number was last ported (null: never, or not known), and when it was looked up.</summary>
public sealed record CachedLookup(string LineType, DateOnly? PortedAt, DateTimeOffset LookedUpAt);

/// <summary>The <c>number_lookups</c> table: Number Lookup answers under the number's keyed hash, never the number.</summary>
public static class NumberLookupStore
{
    /// <summary>Rows this old are pruned by housekeeping (numbers no longer sent to, hashes of a rotated key).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    public static async Task<CachedLookup?> FindAsync(NpgsqlConnection connection, byte[] phoneHash)
    {
        var row = await connection.QuerySingleOrDefaultAsync<(string LineType, DateTime? PortedAt, DateTime LookedUpAt)?>(
            "select line_type, ported_at, looked_up_at from number_lookups where phone_hash = @phoneHash", new { phoneHash });
        return row is { } r
            ? new CachedLookup(r.LineType, r.PortedAt is { } d ? DateOnly.FromDateTime(d) : null, Timestamps.Utc(r.LookedUpAt))
            : null;
    }

    /// <summary>Stores a fresh answer (insert or replace; across instances the later lookup wins). Rows past
    /// <see cref="Retention"/> go in housekeeping's bounded deletes, not here: one unbounded delete in the send's request, after a
    /// month without lookups, could outlast the command timeout and fail the send it was written for.</summary>
    public static async Task UpsertAsync(NpgsqlConnection connection, byte[] phoneHash, CachedLookup answer)
    {
        await connection.ExecuteAsync(
            """
            insert into number_lookups (phone_hash, line_type, ported_at, looked_up_at)
            values (@phoneHash, @lineType, @portedAt, @lookedUpAt)
            on conflict (phone_hash) do update
              set line_type = excluded.line_type, ported_at = excluded.ported_at, looked_up_at = excluded.looked_up_at
              where number_lookups.looked_up_at <= excluded.looked_up_at;
            """,
            new
            {
                phoneHash, lineType = answer.LineType,
                portedAt = answer.PortedAt?.ToDateTime(TimeOnly.MinValue), lookedUpAt = answer.LookedUpAt,
            });
    }
}
