using AuthService.Api.Events;
using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>The attempt ledger of DESIGN §8.1: the user's lock (the one key every path that decides on a user's attempts
/// takes), the locked reads of factor and recent failures, the one statement that accepts a TOTP step, and the writes of a
/// failure or a rate-limited attempt — as batch commands, so the coalesced TOTP login and the general proof path record
/// exactly the same rows. Every write runs under the user's lock, in the transaction that read the state it was decided on.</summary>
public static class AttemptLedger
{
    /// <summary>Opens a transaction on <paramref name="connection"/>, takes the locks of several users in it (in user-id order,
    /// so concurrent batches never deadlock), then reads their factors, each with the failed attempts since
    /// <paramref name="failuresSince"/> as <see cref="FactorRow.RecentFailures"/>. One round trip; the read's snapshot is
    /// taken after every lock is granted; a user's rows carry the failures once, on each factor. End the transaction with <see cref="WriteAndCommitAsync"/>; on an error, disposing
    /// the connection rolls it back.</summary>
    public static async Task<Dictionary<string, (UserFactors User, IReadOnlyList<DateTimeOffset> RecentFailures)>> BeginLockAndLoadManyAsync(NpgsqlConnection connection,
        IReadOnlyCollection<string> userIds, DateTimeOffset failuresSince)
    {
        var ordered = userIds.Distinct().Order(StringComparer.Ordinal).ToArray();
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("begin"));
        // The read's array of user ids makes PostgreSQL's custom plans look cheaper than its generic one for small batches,
        // so a quarter of the batches planned the prepared read afresh (~0.25 ms, more than it takes to run), for the same
        // plan (index scans by user id). The batch's statements keep one generic plan per connection; LOCAL ends with the
        // transaction, so nothing is left on the pooled connection.
        batch.BatchCommands.Add(new NpgsqlBatchCommand(GenericPlansSql));
        // One statement takes every lock, in user-id order (PostgreSQL evaluates volatile select-list functions after the
        // sort); the read is a statement of its own, so its snapshot is taken once all locks are granted.
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"select {LockKey("u")} from (select u from unnest($1) as t(u) order by u collate \"C\") as users")
        {
            Parameters = { new NpgsqlParameter<string[]>() { TypedValue = ordered } },
        });

        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            select {TwoFactorStore.FactorColumns},
                   array(select v.created_at from verification_failures v
                         where v.user_id = f.user_id and v.created_at > $2 order by v.created_at) as recent_failures
            from {TwoFactorStore.FactorsFrom} where f.user_id = any($1)
            """)
        {
            Parameters = { new NpgsqlParameter<string[]>() { TypedValue = ordered }, new NpgsqlParameter<DateTimeOffset>() { TypedValue = failuresSince } },
        });
        await using var reader = await batch.ExecuteReaderAsync();
        await reader.NextResultAsync(); // past the locks' rows (begin and set return none)

        var parser = reader.GetRowParser<FactorRow>();
        var rows = new List<FactorRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(parser(reader));
        }

        return rows.GroupBy(f => f.UserId, StringComparer.Ordinal).ToDictionary(g => g.Key,
            g => (UserFactors.From(g.ToList())!, (IReadOnlyList<DateTimeOffset>)(g.First().RecentFailures ?? []).Select(Timestamps.Utc).ToList()),
            StringComparer.Ordinal);
    }

    /// <summary>Sends <paramref name="writes"/> and the commit of the transaction <see cref="BeginLockAndLoadManyAsync"/> opened,
    /// in one round trip. The reader holds the result sets of the writes that return rows; read it to the end, so that an
    /// error of the commit surfaces before any answer is given.</summary>
    public static async Task<NpgsqlDataReader> WriteAndCommitAsync(NpgsqlConnection connection, IEnumerable<NpgsqlBatchCommand> writes)
    {
        var batch = new NpgsqlBatch(connection);
        foreach (var command in writes)
        {
            batch.BatchCommands.Add(command);
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
        return await batch.ExecuteReaderAsync();
    }

    /// <summary>What a TOTP acceptance needs: the secret the code was checked against, the step it matched, and the
    /// per-minute limit as it must hold at the moment of acceptance (DESIGN §8.1).</summary>
    public sealed record TotpAcceptance(string UserId, Guid FactorId, long Step, DateTimeOffset Now, DateTimeOffset FailuresSince,
        int AttemptsPerMinute, Guid? ApiKeyId, string AuditDetails);

    /// <summary>The one statement that accepts TOTP codes, whichever path checked them: one acceptance (the single-user path)
    /// or a set of them (a coalesced batch, <see cref="AcceptTotpStepsCommand"/>). It takes an acceptance's
    /// <see cref="TotpAcceptance.Step"/> only when, at that moment: the factor still holds the secret the code was checked against
    /// (same <see cref="FactorRow.FactorId"/>, still TOTP), the step is later than every step accepted before (RFC 6238 §5.2
    /// single use), and fewer than <see cref="TotpAcceptance.AttemptsPerMinute"/> failures are on record since
    /// <see cref="TotpAcceptance.FailuresSince"/>. It appends the success to the audit trail in the same statement. Run it
    /// under the user's lock (<see cref="BeginLockAndLoadManyAsync"/> or <see cref="LockAndLoadAsync"/>) after the gate read the
    /// user's state in the same transaction: failures, and the lock they set, are recorded only under that lock, so the count
    /// it reads is the count at commit and the lock the gate saw is the lock at commit (the lock lives in
    /// <c>two_factor_users</c>; re-reading it here cost a fifth of the statement's throughput). Returns the unused backup-code
    /// count on success, null when refused.</summary>
    public static async Task<int?> TryAcceptTotpStepAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, TotpAcceptance a)
    {
        await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { AcceptTotpStepCommand(a) } };
        await using var reader = await batch.ExecuteReaderAsync();
        return await reader.ReadAsync() ? reader.GetInt32(1) : null;
    }

    /// <summary>The same statement for one acceptance, as one command of a batch: a row (0, unused backup codes) when it accepts,
    /// none when it refuses.</summary>
    public static NpgsqlBatchCommand AcceptTotpStepCommand(TotpAcceptance a, AuditEvent? onAcceptance = null) =>
        AcceptTotpStepsCommand([new TotpAcceptanceRow(0, a, onAcceptance)]);

    /// <summary>One acceptance of a set: <see cref="Ordinal"/> names it in the statement's answer; <see cref="OnAcceptance"/>
    /// (a login from a new device) is an audit event, with the webhook events it stands for, written after the success when,
    /// and only when, this acceptance is taken. Its stored details and webhook events are made with the row, so they carry the
    /// verify profile current then (<see cref="EventProfile"/>): a coalesced batch makes each row under its own request's.</summary>
    public sealed record TotpAcceptanceRow(int Ordinal, TotpAcceptance Acceptance, AuditEvent? OnAcceptance)
    {
        internal string? OnAcceptanceDetails { get; } = OnAcceptance is null ? null : AuditLog.Details(OnAcceptance);

        internal IReadOnlyList<WebhookEvent> OnAcceptanceHooks { get; } = OnAcceptance is null
            ? []
            : WebhookEvents.FromAudit(OnAcceptance, Acceptance.UserId, Acceptance.ApiKeyId, Acceptance.Now);
    }

    /// <summary>The accept statement over a set of acceptances of <b>distinct users</b>, as one command of a batch: each is
    /// taken or refused on its own, exactly as if each ran as a statement of its own in ordinal order (their rows are
    /// disjoint; audit and outbox rows are written in ordinal order). The answer is one row per acceptance taken:
    /// (ordinal, unused backup codes). One statement per coalesced batch instead of one per login: PostgreSQL plans and starts
    /// it once (issue 27), which is most of what an unprepared statement costs behind PgBouncer.</summary>
    public static NpgsqlBatchCommand AcceptTotpStepsCommand(IReadOnlyList<TotpAcceptanceRow> rows)
    {
        if (rows.Select(r => r.Acceptance.UserId).Distinct(StringComparer.Ordinal).Count() != rows.Count)
        {
            throw new ArgumentException("A set of acceptances holds each user at most once.", nameof(rows));
        }

        var hooks = rows.SelectMany(r => r.OnAcceptanceHooks.Select(e => (r.Ordinal, e))).ToList();
        // Unnamed, in the order of AcceptTotpStepsParameters (PositionalSql): Npgsql sends the statement without parsing it.
        var command = new NpgsqlBatchCommand(hooks.Count == 0 ? AcceptTotpStepsSql : AcceptTotpStepsWithWebhooksSql);
        foreach (var (_, make) in AcceptTotpStepsParameters)
        {
            command.Parameters.Add(make(rows));
        }

        if (hooks.Count > 0)
        {
            WebhookOutbox.AddSetParameters(command.Parameters, hooks);
        }

        return command;
    }

    /// <summary>Takes the user's lock for the rest of <paramref name="transaction"/> (a support reset, which decides nothing
    /// on attempts but must not interleave with one).</summary>
    public static Task LockUserAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId) =>
        connection.ExecuteAsync(LockUserSql, new { userId }, transaction);

    /// <summary>Takes the user's advisory lock for the rest of <paramref name="transaction"/> and reads, in the same round
    /// trip, the factor and the failed attempts since <paramref name="failuresSince"/> (the per-minute limit's ledger,
    /// which counts even without a factor: an enrollment's confirmation attempts).</summary>
    public static async Task<(UserFactors? User, IReadOnlyList<DateTimeOffset> RecentFailures)> LockAndLoadAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, DateTimeOffset failuresSince)
    {
        await using var results = await connection.QueryMultipleAsync($"""
            {LockUserSql};
            select {TwoFactorStore.FactorColumns} from {TwoFactorStore.FactorsFrom} where f.user_id = @userId;
            select created_at from verification_failures where user_id = @userId and created_at > @failuresSince order by created_at;
            """, new { userId, failuresSince }, transaction);
        await results.ReadAsync(); // the lock's empty result
        var user = UserFactors.From((await results.ReadAsync<FactorRow>()).AsList());
        return (user, (await results.ReadAsync<DateTime>()).Select(Timestamps.Utc).ToList());
    }

    /// <summary>The batch's statements are planned once per connection (<see cref="BeginLockAndLoadManyAsync"/>).</summary>
    private const string GenericPlansSql = "set local plan_cache_mode = force_generic_plan";

    private static readonly string LockUserSql = "select " + LockKey("@userId");

    /// <summary>The user's lock, the one key every path that decides on a user's attempts takes.</summary>
    private static string LockKey(string userIdExpression) => $"pg_advisory_xact_lock(hashtextextended('user:' || {userIdExpression}, 0))";

    /// <summary>A failed check: the per-minute ledger, the factor's consecutive count and lock (when the user has a factor),
    /// and the audit event. <paramref name="locksNow"/> adds the lockout's own audit event.</summary>
    public static IEnumerable<NpgsqlBatchCommand> Failure(string userId, bool hasFactor, int lockoutThreshold, bool locksNow,
        int consecutive, DateTimeOffset now, Guid? actor, AuditEvent.VerificationFailed details)
    {
        yield return new NpgsqlBatchCommand("insert into verification_failures (user_id, created_at) values (@userId, @now)")
        {
            Parameters = { new NpgsqlParameter<string>("userId", userId), new NpgsqlParameter<DateTimeOffset>("now", now) },
        };
        if (hasFactor)
        {
            yield return new NpgsqlBatchCommand("""
                update two_factor_users set failed_consecutive = failed_consecutive + 1, updated_at = @now,
                    locked_at = case when failed_consecutive + 1 >= @threshold then coalesce(locked_at, @now) else locked_at end
                where user_id = @userId
                """)
            {
                Parameters =
                {
                    new NpgsqlParameter<string>("userId", userId), new NpgsqlParameter<DateTimeOffset>("now", now),
                    new NpgsqlParameter<int>("threshold", lockoutThreshold),
                },
            };
        }

        yield return AuditLog.Command(userId, details, now, actor);
        if (locksNow)
        {
            yield return AuditLog.Command(userId, new AuditEvent.Locked(consecutive), now, actor);
        }
    }

    /// <summary>A proof that could not be checked on this instance (<see cref="AuditEvents.VerificationError"/>): a row of the
    /// per-minute ledger, so repeating it is limited like any failure, and its audit event; the consecutive count and the
    /// lockout are not touched.</summary>
    public static IEnumerable<NpgsqlBatchCommand> Unreadable(string userId, DateTimeOffset now, Guid? actor, AuditEvent.VerificationError details)
    {
        yield return new NpgsqlBatchCommand("insert into verification_failures (user_id, created_at) values (@userId, @now)")
        {
            Parameters = { new NpgsqlParameter<string>("userId", userId), new NpgsqlParameter<DateTimeOffset>("now", now) },
        };
        yield return AuditLog.Command(userId, details, now, actor);
    }

    /// <summary>A request refused by the per-minute limit before anything was checked.</summary>
    public static NpgsqlBatchCommand RateLimited(string userId, DateTimeOffset now, Guid? actor) =>
        AuditLog.Command(userId, new AuditEvent.RateLimited("attempts_per_minute"), now, actor);

    /// <summary>Runs <paramref name="commands"/> in <paramref name="transaction"/> as one round trip.</summary>
    public static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<NpgsqlBatchCommand> commands)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var command in commands)
        {
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync();
    }

    private const string AcceptTotpStepsCtes = $"""
        with input as (
            select * from unnest(@ord::int[], @userId::text[], @factorId::uuid[], @step::bigint[], @now::timestamptz[],
                                 @failuresSince::timestamptz[], @attemptLimit::int[], @apiKeyId::uuid[], @details::text[],
                                 @alsoType::text[], @alsoDetails::text[])
                as i(ord, user_id, factor_id, step, now, failures_since, attempt_limit, api_key_id, details, also_type, also_details)
        ), accepted as (
            update factors f set last_totp_step = i.step, last_used_at = i.now, updated_at = i.now
            from input i
            where f.user_id = i.user_id and f.factor_id = i.factor_id and f.method = 'totp' and f.last_totp_step < i.step
              and (select count(*) from verification_failures v where v.user_id = i.user_id and v.created_at > i.failures_since) < i.attempt_limit
            returning i.ord, i.user_id, i.now, i.api_key_id, i.details, i.also_type, i.also_details
        ), reset as (
            -- Only when there is a count to reset: most logins follow a success, and an unchanged row is not rewritten.
            update two_factor_users u set failed_consecutive = 0, updated_at = a.now
            from accepted a where u.user_id = a.user_id and u.failed_consecutive <> 0
        ), audit as (
            -- The success, then the event written on acceptance (a login from a new device), in ordinal order.
            insert into audit_events (user_id, event_type, occurred_at, api_key_id, details)
            select a.user_id, e.event_type, a.now, a.api_key_id, e.details::jsonb
            from accepted a cross join lateral (values (0, '{AuditEvents.VerificationSucceeded}', a.details), (1, a.also_type, a.also_details))
                as e(n, event_type, details)
            where e.event_type is not null
            order by a.ord, e.n
        )
        """;

    private const string AcceptTotpStepsSelect = """

        select a.ord, (select count(*)::int from backup_codes b where b.user_id = a.user_id and b.used_at is null)
        from accepted a order by a.ord
        """;

    /// <summary>The parameters of <see cref="AcceptTotpStepsCommand"/>: each name the statement's text uses, with the value it
    /// stands for. One list gives both the numbering of the text and the order the command adds them, so the two cannot drift.</summary>
    private static readonly (string Name, Func<IReadOnlyList<TotpAcceptanceRow>, NpgsqlParameter> Make)[] AcceptTotpStepsParameters =
    [
        ("ord", rows => new NpgsqlParameter<int[]> { TypedValue = rows.Select(r => r.Ordinal).ToArray() }),
        ("userId", rows => new NpgsqlParameter<string[]> { TypedValue = rows.Select(r => r.Acceptance.UserId).ToArray() }),
        ("factorId", rows => new NpgsqlParameter<Guid[]> { TypedValue = rows.Select(r => r.Acceptance.FactorId).ToArray() }),
        ("step", rows => new NpgsqlParameter<long[]> { TypedValue = rows.Select(r => r.Acceptance.Step).ToArray() }),
        ("now", rows => new NpgsqlParameter<DateTimeOffset[]> { TypedValue = rows.Select(r => r.Acceptance.Now).ToArray() }),
        ("failuresSince", rows => new NpgsqlParameter<DateTimeOffset[]> { TypedValue = rows.Select(r => r.Acceptance.FailuresSince).ToArray() }),
        ("attemptLimit", rows => new NpgsqlParameter<int[]> { TypedValue = rows.Select(r => r.Acceptance.AttemptsPerMinute).ToArray() }),
        ("apiKeyId", rows => new NpgsqlParameter<Guid?[]> { TypedValue = rows.Select(r => r.Acceptance.ApiKeyId).ToArray() }),
        ("details", rows => new NpgsqlParameter<string[]> { TypedValue = rows.Select(r => r.Acceptance.AuditDetails).ToArray() }),
        ("alsoType", rows => new NpgsqlParameter<string?[]> { TypedValue = rows.Select(r => r.OnAcceptance?.EventType).ToArray() }),
        ("alsoDetails", rows => new NpgsqlParameter<string?[]>
        {
            TypedValue = rows.Select(r => r.OnAcceptanceDetails).ToArray(),
        }),
    ];

    private static readonly string AcceptTotpStepsSql =
        PositionalSql.Of(AcceptTotpStepsCtes + AcceptTotpStepsSelect, [.. AcceptTotpStepsParameters.Select(p => p.Name)]);

    private static readonly string AcceptTotpStepsWithWebhooksSql = PositionalSql.Of(
        AcceptTotpStepsCtes + ", " + WebhookOutbox.SetCtes(acceptedCte: "accepted") + AcceptTotpStepsSelect,
        [.. AcceptTotpStepsParameters.Select(p => p.Name), .. WebhookOutbox.SetParameters.Select(p => p.Name)]);

    /// <summary>A success sets the user's consecutive-failure count back to 0 (DESIGN §4), under the user's lock.</summary>
    public static Task ResetConsecutiveFailuresAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, DateTimeOffset now) =>
        connection.ExecuteAsync("update two_factor_users set failed_consecutive = 0, updated_at = @now where user_id = @userId and failed_consecutive <> 0",
            new { userId, now }, transaction);
}
