using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>The statements of a TOTP login: the user's lock, the locked read of a batch, and the one statement that accepts
/// a step (used by the coalesced login and the general proof path alike).</summary>
public static partial class TwoFactorStore
{
    /// <summary>Takes the locks of several users (in user-id order, so concurrent batches never deadlock) for the rest of
    /// <paramref name="transaction"/>, then reads their factors, each with the failed attempts since
    /// <paramref name="failuresSince"/> as <see cref="FactorRow.RecentFailures"/>. One round trip; the read's snapshot is
    /// taken after every lock is granted.</summary>
    public static async Task<Dictionary<string, FactorRow>> LockAndLoadManyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyCollection<string> userIds, DateTimeOffset failuresSince)
    {
        var ordered = userIds.Distinct().Order(StringComparer.Ordinal).ToArray();
        await using var batch = new NpgsqlBatch(connection, transaction);
        // One statement takes every lock, in user-id order (PostgreSQL evaluates volatile select-list functions after the
        // sort); the read is a statement of its own, so its snapshot is taken once all locks are granted.
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"select {LockKey("u")} from (select u from unnest($1) as t(u) order by u collate \"C\") as users")
        {
            Parameters = { new NpgsqlParameter<string[]>() { TypedValue = ordered } },
        });

        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            select {FactorColumns},
                   array(select v.created_at from verification_failures v
                         where v.user_id = f.user_id and v.created_at > $2 order by v.created_at) as recent_failures
            from factors f where f.user_id = any($1)
            """)
        {
            Parameters = { new NpgsqlParameter<string[]>() { TypedValue = ordered }, new NpgsqlParameter<DateTimeOffset>() { TypedValue = failuresSince } },
        });
        await using var reader = await batch.ExecuteReaderAsync();
        await reader.NextResultAsync(); // past the locks' rows

        var parser = reader.GetRowParser<FactorRow>();
        var factors = new Dictionary<string, FactorRow>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            var factor = parser(reader);
            factors[factor.UserId] = factor;
        }

        return factors;
    }

    /// <summary>What a TOTP acceptance needs: the secret the code was checked against, the step it matched, and the
    /// per-minute limit as it must hold at the moment of acceptance (DESIGN §8.1).</summary>
    public sealed record TotpAcceptance(string UserId, Guid FactorId, long Step, DateTimeOffset Now, DateTimeOffset FailuresSince,
        int AttemptsPerMinute, Guid? ApiKeyId, string AuditDetails);

    /// <summary>The one statement that accepts a TOTP code, whichever path checked it. It takes <see cref="TotpAcceptance.Step"/>
    /// only when, at that moment: the factor still holds the secret the code was checked against (same
    /// <see cref="FactorRow.FactorId"/>, still TOTP), the step is later than every step accepted before (RFC 6238 §5.2
    /// single use), the factor is not locked, and fewer than <see cref="TotpAcceptance.AttemptsPerMinute"/> failures are on
    /// record since <see cref="TotpAcceptance.FailuresSince"/>. It appends the success to the audit trail in the same
    /// statement. Run it under the user's lock (<see cref="LockAndLoadManyAsync"/> or <see cref="LockAndLoadAsync"/>): failures
    /// are recorded only under that lock, so the count it reads is the count at commit. Returns the unused backup-code count
    /// on success, null when refused.</summary>
    public static Task<int?> TryAcceptTotpStepAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, TotpAcceptance a) =>
        connection.QuerySingleOrDefaultAsync<int?>(AcceptTotpStepSql, new
        {
            userId = a.UserId, factorId = a.FactorId, step = a.Step, now = a.Now, failuresSince = a.FailuresSince,
            limit = a.AttemptsPerMinute, apiKeyId = a.ApiKeyId, auditDetails = a.AuditDetails,
        }, transaction);

    /// <summary>The same statement as <see cref="TryAcceptTotpStepAsync"/>, as one command of a batch.</summary>
    public static NpgsqlBatchCommand AcceptTotpStepCommand(TotpAcceptance a) =>
        new(AcceptTotpStepSql)
        {
            Parameters =
            {
                new NpgsqlParameter<string>("userId", a.UserId),
                new NpgsqlParameter<Guid>("factorId", a.FactorId),
                new NpgsqlParameter<long>("step", a.Step),
                new NpgsqlParameter<DateTimeOffset>("now", a.Now),
                new NpgsqlParameter<DateTimeOffset>("failuresSince", a.FailuresSince),
                new NpgsqlParameter<int>("limit", a.AttemptsPerMinute),
                new NpgsqlParameter("apiKeyId", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)a.ApiKeyId ?? DBNull.Value },
                new NpgsqlParameter<string>("auditDetails", a.AuditDetails),
            },
        };

    private static readonly string LockUserSql = "select " + LockKey("@userId");

    /// <summary>The user's lock, the one key every path that decides on a user's attempts takes.</summary>
    private static string LockKey(string userIdExpression) => $"pg_advisory_xact_lock(hashtextextended('user:' || {userIdExpression}, 0))";

    private const string AcceptTotpStepSql = """
        with accepted as (
            update factors set last_totp_step = @step, failed_consecutive = 0, updated_at = @now
            where user_id = @userId and factor_id = @factorId and method = 'totp' and last_totp_step < @step and locked_at is null
              and (select count(*) from verification_failures where user_id = @userId and created_at > @failuresSince) < @limit
            returning user_id
        ), audit as (
            insert into audit_events (user_id, event_type, occurred_at, api_key_id, details)
            select @userId, 'verification_succeeded', @now, @apiKeyId, @auditDetails::jsonb from accepted
        )
        select (select count(*)::int from backup_codes where user_id = @userId and used_at is null) from accepted
        """;
}
