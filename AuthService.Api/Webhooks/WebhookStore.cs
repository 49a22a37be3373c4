using AuthService.Api.Events;
using AuthService.Api.Storage;
using Dapper;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>SQL of the webhook endpoints and the deliveries view. The secret arrives sealed (<see cref="RegisterWebhook"/>
/// seals it under the key ring, bound to the endpoint id) and never leaves through these reads.</summary>
public static class WebhookStore
{
    private const string EndpointColumns = "id, url, events, description, created_at";

    // A pending delivery queued behind an earlier pending one of the same user and endpoint is sent only after it (in order):
    // its next try is not before that one's, whatever its own row says (its creation time, until it reaches the head).
    private const string DeliveryColumns = """
        d.id, d.event_id, e.type, e.user_id, d.status, d.attempts, d.last_attempt_at, d.last_status, d.last_error,
        greatest(d.next_attempt_at, (select h.next_attempt_at from webhook_deliveries h
            where h.endpoint_id = d.endpoint_id and h.order_key = d.order_key and h.status = 'pending' and h.id < d.id
            order by h.id limit 1)) as next_attempt_at,
        d.delivered_at, d.created_at
        """;

    public static Task<WebhookEndpointRow> InsertEndpointAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, string url,
        string[] events, string? description, byte[] sealedSecret, DateTimeOffset now, Guid? createdBy, CancellationToken cancellationToken) =>
        connection.QuerySingleAsync<WebhookEndpointRow>(new CommandDefinition($"""
            insert into webhook_endpoints (id, url, events, description, secret, created_at, created_by)
            values (@id, @url, @events, @description, @sealedSecret, @now, @createdBy)
            returning {EndpointColumns}
            """, new { id, url, events, description, sealedSecret, now, createdBy }, transaction, cancellationToken: cancellationToken));

    public static async Task<IReadOnlyList<WebhookEndpointRow>> ListEndpointsAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<WebhookEndpointRow>(new CommandDefinition(
            $"select {EndpointColumns} from webhook_endpoints where deleted_at is null order by created_at, id", cancellationToken: cancellationToken))).AsList();

    public static Task<WebhookEndpointRow?> GetEndpointByIdAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<WebhookEndpointRow>(new CommandDefinition(
            $"select {EndpointColumns} from webhook_endpoints where id = @id and deleted_at is null", new { id }, cancellationToken: cancellationToken));

    /// <summary>Marks the endpoint deleted (migration 0022): from its commit no read, claim or outbox insert sees it, so none of
    /// its pending deliveries is sent. An update of a non-key column, which waits for no dispatch pass (they hold the row for key
    /// share). Its URL, or null when there was none (or it was already deleted).</summary>
    public static Task<string?> DeleteEndpointByIdAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, DateTimeOffset now,
        CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "update webhook_endpoints set deleted_at = @now where id = @id and deleted_at is null returning url", new { id, now },
            transaction, cancellationToken: cancellationToken));

    /// <summary>In <paramref name="transaction"/>, a lock wait longer than a second fails the statement instead of waiting.</summary>
    public static Task SetShortLockTimeoutAsync(NpgsqlConnection connection, NpgsqlTransaction transaction) =>
        connection.ExecuteAsync("set local lock_timeout = '1s'", transaction: transaction);

    /// <summary>Removes up to <paramref name="rows"/> endpoints marked deleted, their deliveries by cascade, passing over any a
    /// dispatch pass still holds (<c>skip locked</c>): the next prune takes those. In the caller's transaction, which should set a
    /// short <c>lock_timeout</c>: the cascade may meet a delivery row a redelivery is updating. The endpoints are chosen once (a
    /// materialized CTE; see <see cref="WebhookQueue.PruneEventsSql"/>).</summary>
    public static Task<int> RemoveDeletedEndpointsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid? id, int rows) =>
        connection.ExecuteAsync("""
            with doomed as materialized (
                select id from webhook_endpoints where deleted_at is not null and (@id::uuid is null or id = @id)
                limit @rows for update skip locked)
            delete from webhook_endpoints where id in (select id from doomed)
            """, new { id, rows }, transaction);

    /// <summary>Deliveries of an endpoint, newest first, paged by id.</summary>
    public static async Task<IReadOnlyList<WebhookDeliveryRow>> ListDeliveriesByEndpointIdAsync(NpgsqlConnection connection, Guid endpointId,
        string? status, long? before, int take, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<WebhookDeliveryRow>(new CommandDefinition($"""
            select {DeliveryColumns}
            from webhook_deliveries d join webhook_events e on e.id = d.event_id
            where d.endpoint_id = @endpointId and (@status::text is null or d.status = @status) and (@before::bigint is null or d.id < @before)
            order by d.id desc limit @take
            """, new { endpointId, status, before, take }, cancellationToken: cancellationToken))).AsList();

    /// <summary>Sends a delivery again: a pending one is due at once; a delivered or failed one gets a new pending
    /// delivery of the same event (same <c>webhook-id</c>, a fresh retry period), queued behind the user's later events.
    /// Null when the endpoint has no such delivery.</summary>
    public static async Task<WebhookDeliveryRow?> RedeliverByIdAsync(NpgsqlConnection connection, Guid endpointId, long deliveryId,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        // A delivery being sent is locked by its dispatcher: the update waits for the attempt, then skips the row if the attempt
        // finished it, while the copy's select still sees it pending in the statement's snapshot, so neither part applies. A
        // second run, in a snapshot of its own, sees what the attempt left: still pending (due now) or finished (copied).
        var id = await RedeliverOnceAsync(connection, endpointId, deliveryId, now, cancellationToken)
                 ?? await RedeliverOnceAsync(connection, endpointId, deliveryId, now, cancellationToken);
        if (id is null)
        {
            return null;
        }

        // Null when the endpoint was deleted right after (its deliveries went with it): the caller's 404.
        return await connection.QuerySingleOrDefaultAsync<WebhookDeliveryRow>(new CommandDefinition($"""
            select {DeliveryColumns} from webhook_deliveries d join webhook_events e on e.id = d.event_id where d.id = @id
            """, new { id }, cancellationToken: cancellationToken));
    }

    private static async Task<long?> RedeliverOnceAsync(NpgsqlConnection connection, Guid endpointId, long deliveryId, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        try
        {
            return await RedeliverStatementAsync(connection, endpointId, deliveryId, now, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // The prune deleted the delivery and its event while this statement still saw them: there is nothing to send.
            return null;
        }
    }

    private static Task<long?> RedeliverStatementAsync(NpgsqlConnection connection, Guid endpointId, long deliveryId, DateTimeOffset now,
        CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long?>(new CommandDefinition("""
            with due as (
                update webhook_deliveries set next_attempt_at = @now
                where id = @deliveryId and endpoint_id = @endpointId and status = 'pending'
                returning id
            ), again as (
                -- The endpoint is locked as its foreign key would lock it: one deleted meanwhile means no copy, not an error.
                insert into webhook_deliveries (event_id, endpoint_id, order_key, next_attempt_at, created_at)
                select d.event_id, d.endpoint_id, d.order_key, @now, @now
                from webhook_deliveries d join webhook_endpoints w on w.id = d.endpoint_id
                where d.id = @deliveryId and d.endpoint_id = @endpointId and d.status <> 'pending' and w.deleted_at is null
                for key share of w
                returning id
            )
            select id from due union all select id from again
            """, new { endpointId, deliveryId, now }, cancellationToken: cancellationToken));
}

/// <summary>A webhook endpoint as stored (never its secret).</summary>
public sealed class WebhookEndpointRow
{
    public Guid Id { get; init; }
    public string Url { get; init; } = "";
    public string[] Events { get; init; } = [];
    public string? Description { get; init; }
    public DateTime CreatedAt { get; init; }

    public WebhookResponse ToResponse() => new(Id, Url, Events, Description, Timestamps.Utc(CreatedAt));
}

/// <summary>A delivery as the deliveries view reads it: the delivery, its event's type and user.</summary>
public sealed class WebhookDeliveryRow
{
    public long Id { get; init; }
    public Guid EventId { get; init; }
    public string Type { get; init; } = "";
    public string? UserId { get; init; }
    public string Status { get; init; } = "";
    public int Attempts { get; init; }
    public DateTime? LastAttemptAt { get; init; }
    public int? LastStatus { get; init; }
    public string? LastError { get; init; }
    public DateTime NextAttemptAt { get; init; }
    public DateTime? DeliveredAt { get; init; }
    public DateTime CreatedAt { get; init; }

    public WebhookDeliveryResponse ToResponse() => new(Id, WebhookEvent.MessageId(EventId), Type, UserId, Status, Attempts,
        Timestamps.Utc(LastAttemptAt), LastStatus, LastError, Status == "pending" ? Timestamps.Utc(NextAttemptAt) : null,
        Timestamps.Utc(DeliveredAt), Timestamps.Utc(CreatedAt));
}
