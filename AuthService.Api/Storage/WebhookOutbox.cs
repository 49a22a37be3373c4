using AuthService.Api.Events;
using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>The write side of the transactional outbox: called on the connection and transaction of the change, so
/// the event commits or rolls back with it. One statement per event; nothing is written when no endpoint subscribes.
/// Each delivery's endpoint is read <c>for key share</c>, the lock its foreign key takes anyway, but before the insert: an
/// endpoint deleted meanwhile is then skipped (no delivery) instead of failing the change, a batch of logins included.</summary>
public static class WebhookOutbox
{
    /// <summary>An attacker hammering a locked-out account must not turn into a webhook flood: one rate-limit event
    /// per user and minute is enough for the portal to warn.</summary>
    public static readonly TimeSpan RateLimitedThrottle = TimeSpan.FromMinutes(1);

    /// <summary>Subscription match of an endpoint <c>w</c> for event type <c>@type</c>: exact, family (<c>two_factor.*</c>) or <c>*</c>;
    /// never an endpoint marked deleted (migration 0022).</summary>
    internal const string MatchSql = "(w.deleted_at is null and (@type = any(w.events) or '*' = any(w.events) or split_part(@type, '.', 1) || '.*' = any(w.events)))";

    private const string InsertSql = $"""
        with event as (
            insert into webhook_events (id, type, user_id, body, created_at)
            select @id, @type, @userId, @body, @now
            where exists (select 1 from webhook_endpoints w where {MatchSql})
              and (@since::timestamptz is null or not exists (
                  select 1 from webhook_events e where e.user_id = @userId and e.type = @type and e.created_at > @since))
            returning id
        )
        insert into webhook_deliveries (event_id, endpoint_id, order_key, next_attempt_at, created_at)
        select event.id, w.id, coalesce(@userId, ''), @now, @now
        from event cross join webhook_endpoints w where {MatchSql}
        order by w.id
        for key share of w
        """;

    /// <summary>The outbox rows of <paramref name="events"/> added to a batch command that inserts an audit event, as
    /// data-modifying CTEs of that same statement (for batched writes such as <c>AttemptLedger</c>): still one round trip,
    /// still the change's transaction. The audit insert stays the statement's main part, so the command returns no result set:
    /// a batch reads the result sets of its other commands (the acceptances) in order.</summary>
    public static NpgsqlBatchCommand Include(NpgsqlBatchCommand audit, IReadOnlyList<WebhookEvent> events)
    {
        if (events.Count == 0)
        {
            return audit;
        }

        audit.CommandText = "with " + Ctes(events, audit.Parameters) + " " + audit.CommandText;
        return audit;
    }

    /// <summary>The CTEs that write <paramref name="events"/> to the outbox (<c>e0 as (…), d0 as (…), …</c>, without the
    /// leading <c>with</c>), their parameters added to <paramref name="parameters"/>.</summary>
    private static string Ctes(IReadOnlyList<WebhookEvent> events, NpgsqlParameterCollection parameters)
    {
        var sql = new System.Text.StringBuilder();
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var p = $"@e{i}_";
            var match = MatchSql.Replace("@type", p + "type");
            sql.Append($"""
                {(i == 0 ? "" : ", ")}e{i} as (
                    insert into webhook_events (id, type, user_id, body, created_at)
                    select {p}id, {p}type, {p}user, {p}body, {p}now
                    where exists (select 1 from webhook_endpoints w where {match})
                      and ({p}since is null or not exists (
                          select 1 from webhook_events x where x.user_id = {p}user and x.type = {p}type and x.created_at > {p}since))
                    returning id
                ), d{i} as (
                    insert into webhook_deliveries (event_id, endpoint_id, order_key, next_attempt_at, created_at)
                    select e{i}.id, w.id, coalesce({p}user, ''), {p}now, {p}now
                    from e{i} cross join webhook_endpoints w where {match}
                    order by w.id
                    for key share of w
                )
                """);
            parameters.Add(new NpgsqlParameter<Guid>($"e{i}_id", e.Id));
            parameters.Add(new NpgsqlParameter<string>($"e{i}_type", e.Type));
            parameters.Add(new NpgsqlParameter($"e{i}_user", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)e.UserId ?? DBNull.Value });
            parameters.Add(new NpgsqlParameter<string>($"e{i}_body", e.Body));
            parameters.Add(new NpgsqlParameter<DateTimeOffset>($"e{i}_now", e.OccurredAt));
            parameters.Add(new NpgsqlParameter($"e{i}_since", NpgsqlTypes.NpgsqlDbType.TimestampTz)
            {
                Value = e.Type == WebhookEvents.RateLimited ? e.OccurredAt - RateLimitedThrottle : DBNull.Value,
            });
        }

        return sql.ToString();
    }

    /// <summary>The CTEs (<c>hooks</c>, <c>deliveries</c>; without a leading comma) that write a set of events to the outbox,
    /// each only when its row is in <paramref name="acceptedCte"/>, an earlier CTE of the statement with an <c>ord</c> column (the
    /// acceptances taken). The events come from <see cref="AddSetParameters"/>; they are written, and their deliveries
    /// queued, in the order given. Not for throttled events (<c>two_factor.rate_limited</c>): the throttle reads the outbox,
    /// which a statement does not see itself write.</summary>
    internal static string SetCtes(string acceptedCte) => $"""
        hooks as (
            insert into webhook_events (id, type, user_id, body, created_at)
            select h.id, h.type, h.user_id, h.body, h.created_at
            from unnest(@hookOrd::int[], @hookId::uuid[], @hookType::text[], @hookUser::text[], @hookBody::text[], @hookAt::timestamptz[])
                with ordinality as h(ord, id, type, user_id, body, created_at, n)
            where exists (select 1 from {acceptedCte} a where a.ord = h.ord)
              and exists (select 1 from webhook_endpoints w where {MatchSql.Replace("@type", "h.type")})
            order by h.n
            returning id, type, user_id, created_at
        ), deliveries as (
            insert into webhook_deliveries (event_id, endpoint_id, order_key, next_attempt_at, created_at)
            select k.id, w.id, coalesce(k.user_id, ''), k.created_at, k.created_at
            from hooks k join unnest(@hookId::uuid[]) with ordinality as o(id, n) on o.id = k.id
            cross join webhook_endpoints w where {MatchSql.Replace("@type", "k.type")}
            order by o.n, w.id
            for key share of w
        )
        """;

    /// <summary>The parameters of <see cref="SetCtes"/>, added unnamed after the statement's own (<see cref="PositionalSql"/>):
    /// each name the CTEs use, with the value it stands for, in one list for the numbering and the order alike.</summary>
    internal static readonly (string Name, Func<IReadOnlyList<(int Ordinal, WebhookEvent Event)>, NpgsqlParameter> Make)[] SetParameters =
    [
        ("hookOrd", events => new NpgsqlParameter<int[]> { TypedValue = events.Select(e => e.Ordinal).ToArray() }),
        ("hookId", events => new NpgsqlParameter<Guid[]> { TypedValue = events.Select(e => e.Event.Id).ToArray() }),
        ("hookType", events => new NpgsqlParameter<string[]> { TypedValue = events.Select(e => e.Event.Type).ToArray() }),
        ("hookUser", events => new NpgsqlParameter<string?[]> { TypedValue = events.Select(e => e.Event.UserId).ToArray() }),
        ("hookBody", events => new NpgsqlParameter<string[]> { TypedValue = events.Select(e => e.Event.Body).ToArray() }),
        ("hookAt", events => new NpgsqlParameter<DateTimeOffset[]> { TypedValue = events.Select(e => e.Event.OccurredAt).ToArray() }),
    ];

    /// <summary>The parameters of <see cref="SetCtes"/>: each event with the ordinal of the acceptance it depends on.</summary>
    internal static void AddSetParameters(NpgsqlParameterCollection parameters, IReadOnlyList<(int Ordinal, WebhookEvent Event)> events)
    {
        if (events.Any(e => e.Event.Type == WebhookEvents.RateLimited))
        {
            throw new ArgumentException("Throttled events are written one statement each (Include).", nameof(events));
        }

        foreach (var (_, make) in SetParameters)
        {
            parameters.Add(make(events));
        }
    }

    public static async Task AddAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<WebhookEvent> events)
    {
        foreach (var e in events)
        {
            DateTimeOffset? since = e.Type == WebhookEvents.RateLimited ? e.OccurredAt - RateLimitedThrottle : null;
            await connection.ExecuteAsync(InsertSql, new { id = e.Id, type = e.Type, userId = e.UserId, body = e.Body, now = e.OccurredAt, since },
                transaction);
        }
    }
}
