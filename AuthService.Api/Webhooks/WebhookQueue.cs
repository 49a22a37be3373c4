using Dapper;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>A due delivery, claimed (row-locked) by this instance until its batch commits or its connection dies.</summary>
public sealed record ClaimedDelivery(long Id, Guid EventId, Guid EndpointId, int Attempts, DateTime CreatedAt, string Body, string Url, byte[] Secret);

/// <summary>The outcome to store for a claimed delivery.</summary>
public sealed record DeliveryOutcome(long Id, string Status, DateTimeOffset AttemptedAt, int? LastStatus, string? LastError, DateTimeOffset NextAttemptAt);

/// <summary>SQL of the read side of the outbox. Every instance claims with <c>for update of d skip locked</c>, so instances
/// never send the same delivery at once; a claim lives in a transaction (<see cref="ClaimedBatch"/>), so an instance that
/// dies mid-delivery just drops its locks and the rows are due again (at-least-once). Only the head of each endpoint's
/// per-user queue is claimable, which keeps a user's events in order even while a head waits for its next retry. Up to three
/// quarters of a pass go to first attempts, the rest (at least one) to whatever is due first: a receiver that fails or hangs piles up retries
/// that are due before new events, and a pass waits for every delivery it claimed, so ordered by due time alone one dead
/// endpoint's retries would fill every pass and hold back the events of every healthy endpoint for as long as it stays down;
/// the quarter left keeps retries going while new events alone could fill every pass. A claim also holds each delivery's
/// endpoint row (key share, as every outbox insert does), so deleting an endpoint whose delivery is being sent waits for the
/// pass before it locks that row: it never holds the row, which every event for the endpoint reads, while a receiver hangs.
/// An endpoint being deleted is skipped, its endpoint row locked first so that a delivery of a skipped endpoint is not left
/// locked (PostgreSQL locks the rows of a FOR … OF list in the order written, and keeps a lock taken before a skip). The API's
/// delete only marks the endpoint (<c>deleted_at</c>, which no claim passes), so it waits for no pass; the row itself goes
/// once no pass holds it (<see cref="WebhookStore.RemoveDeletedEndpointsAsync"/>).</summary>
public static class WebhookQueue
{
    /// <summary>The claimable due deliveries, oldest due first; <c>{0}</c> narrows them.</summary>
    private const string ClaimSql = """
        select d.id, d.event_id as "EventId", d.endpoint_id as "EndpointId", d.attempts, d.created_at as "CreatedAt", e.body, w.url, w.secret
        from webhook_deliveries d
        join webhook_events e on e.id = d.event_id
        join webhook_endpoints w on w.id = d.endpoint_id
        where d.status = 'pending' and d.next_attempt_at <= @now and w.deleted_at is null and {0}
          and not exists (
              select 1 from webhook_deliveries p
              where p.endpoint_id = d.endpoint_id and p.order_key = d.order_key and p.status = 'pending' and p.id < d.id)
        order by d.next_attempt_at, d.id
        limit @limit
        for key share of w skip locked
        for update of d skip locked
        """;

    private static readonly string ClaimFirstAttemptsSql = string.Format(System.Globalization.CultureInfo.InvariantCulture, ClaimSql, "d.attempts = 0");

    // Skip locked passes over rows another transaction holds, not those this one took a moment ago.
    private static readonly string ClaimOthersSql = string.Format(System.Globalization.CultureInfo.InvariantCulture, ClaimSql, "d.id <> all(@taken)");

    /// <summary>Locks up to <paramref name="limit"/> due deliveries in <paramref name="transaction"/>, skipping those
    /// another instance holds; the locks last until that transaction ends. First attempts take up to three quarters of them.</summary>
    public static async Task<IReadOnlyList<ClaimedDelivery>> ClaimDueAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        // At least one slot of every pass goes to what is due first, retries included (a pass of 1 takes only that).
        var firstAttempts = limit - Math.Max(1, limit / 4);
        var claimed = firstAttempts > 0
            ? (await connection.QueryAsync<ClaimedDelivery>(new CommandDefinition(ClaimFirstAttemptsSql, new { now, limit = firstAttempts },
                transaction, cancellationToken: cancellationToken))).AsList()
            : [];
        if (claimed.Count < limit)
        {
            claimed.AddRange(await connection.QueryAsync<ClaimedDelivery>(new CommandDefinition(ClaimOthersSql,
                new { now, limit = limit - claimed.Count, taken = claimed.Select(c => c.Id).ToArray() }, transaction,
                cancellationToken: cancellationToken)));
        }

        return claimed;
    }

    /// <summary>Stores each outcome on its delivery (one statement each), in the claiming transaction.</summary>
    public static async Task RecordOutcomesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<DeliveryOutcome> outcomes, CancellationToken cancellationToken)
    {
        const string sql = """
            update webhook_deliveries set
                status = @status, attempts = attempts + 1, last_attempt_at = @attemptedAt, last_status = @lastStatus,
                last_error = @lastError, next_attempt_at = @nextAttemptAt,
                delivered_at = case when @status = 'delivered' then @attemptedAt end
            where id = @id
            """;
        foreach (var o in outcomes)
        {
            await connection.ExecuteAsync(new CommandDefinition(sql,
                new { o.Id, o.Status, o.AttemptedAt, o.LastStatus, o.LastError, o.NextAttemptAt }, transaction, cancellationToken: cancellationToken));
        }
    }

    /// <summary>Pending deliveries of the endpoints not deleted and the age of the oldest, for the outbox gauges.</summary>
    public static Task<(long Depth, DateTime? Oldest)> GetPendingDepthAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.QuerySingleAsync<(long, DateTime?)>(new CommandDefinition("""
            select count(*), min(d.created_at) from webhook_deliveries d join webhook_endpoints w on w.id = d.endpoint_id
            where d.status = 'pending' and w.deleted_at is null
            """, cancellationToken: cancellationToken));

    /// <summary>Deletes up to <paramref name="rows"/> delivered and failed deliveries older than <paramref name="before"/>,
    /// then up to as many events nothing waits for any more. Pending rows are never pruned. Two statements: run them in one
    /// transaction, and again while either deleted <paramref name="rows"/>.</summary>
    public static async Task<(int Deliveries, int Events)> PruneOlderThanAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        DateTimeOffset before, int rows)
    {
        var deliveries = await connection.ExecuteAsync(PruneDeliveriesSql, new { before, rows }, transaction);
        var events = await connection.ExecuteAsync(PruneEventsSql, new { before, rows }, transaction);
        return (deliveries, events);
    }

    /// <summary>Found by <c>webhook_deliveries_finished</c> (migration 0026), not by reading the whole table. The rows are
    /// chosen once (a materialized CTE): as <c>id in (select … limit)</c>, a plan that rescans the subquery for each row of the
    /// table deleted far more than <c>@rows</c> (<c>HousekeepingTests</c>).</summary>
    internal const string PruneDeliveriesSql = """
        with doomed as materialized (
            select id from webhook_deliveries where status <> 'pending' and created_at < @before limit @rows)
        delete from webhook_deliveries where id in (select id from doomed) and status <> 'pending'
        """;

    /// <summary>Found by <c>webhook_events_created</c> (migration 0027). An event something holds is passed over: a
    /// redelivery's copy, not yet committed, holds its event's key lock, and is not seen by "not exists"; deleting the event
    /// would wait for the copy and then cascade it away, pending as it is. Chosen once, as above: rescanned, <c>skip locked</c>
    /// also passes over the rows this statement has just deleted and hands on the next ones, so it deleted every old event.</summary>
    internal const string PruneEventsSql = """
        with doomed as materialized (
            select e.id from webhook_events e where e.created_at < @before
            and not exists (select 1 from webhook_deliveries d where d.event_id = e.id)
            limit @rows
            for update skip locked)
        delete from webhook_events where id in (select id from doomed)
        """;
}
