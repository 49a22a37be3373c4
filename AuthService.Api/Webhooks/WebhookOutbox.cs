using Dapper;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>The write side of the transactional outbox: called on the connection and transaction of the change, so
/// the event commits or rolls back with it. One statement per event; nothing is written when no endpoint subscribes.</summary>
public static class WebhookOutbox
{
    /// <summary>An attacker hammering a locked-out account must not turn into a webhook flood: one rate-limit event
    /// per user and minute is enough for the portal to warn.</summary>
    public static readonly TimeSpan RateLimitedThrottle = TimeSpan.FromMinutes(1);

    /// <summary>Subscription match of an endpoint <c>w</c> for event type <c>@type</c>: exact, family (<c>two_factor.*</c>) or <c>*</c>.</summary>
    internal const string MatchSql = "(@type = any(w.events) or '*' = any(w.events) or split_part(@type, '.', 1) || '.*' = any(w.events))";

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
        """;

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
