using Dapper;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>A due delivery, claimed (row-locked) by this instance until its batch commits or its connection dies.</summary>
public sealed record ClaimedDelivery(long Id, Guid EventId, Guid EndpointId, int Attempts, DateTime CreatedAt, string Body, string Url, byte[] Secret);

/// <summary>The outcome to store for a claimed delivery.</summary>
public sealed record DeliveryOutcome(long Id, string Status, DateTimeOffset AttemptedAt, int? LastStatus, string? LastError, DateTimeOffset NextAttemptAt);

/// <summary>The read side of the outbox. Every instance claims with <c>for update of d skip locked</c>, so instances
/// never send the same delivery at once; a claim lives in a transaction, so an instance that dies mid-delivery just
/// drops its locks and the rows are due again (at-least-once). Only the head of each endpoint's per-user queue is
/// claimable, which keeps a user's events in order even while a head waits for its next retry.</summary>
public sealed class WebhookQueue(NpgsqlDataSource dataSource)
{
    private const string ClaimSql = """
        select d.id, d.event_id as "EventId", d.endpoint_id as "EndpointId", d.attempts, d.created_at as "CreatedAt", e.body, w.url, w.secret
        from webhook_deliveries d
        join webhook_events e on e.id = d.event_id
        join webhook_endpoints w on w.id = d.endpoint_id
        where d.status = 'pending' and d.next_attempt_at <= @now
          and not exists (
              select 1 from webhook_deliveries p
              where p.endpoint_id = d.endpoint_id and p.order_key = d.order_key and p.status = 'pending' and p.id < d.id)
        order by d.next_attempt_at, d.id
        limit @limit
        for update of d skip locked
        """;

    public async Task<ClaimedBatch> ClaimAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var rows = (await connection.QueryAsync<ClaimedDelivery>(
                new CommandDefinition(ClaimSql, new { now, limit }, transaction, cancellationToken: cancellationToken))).AsList();
            return new ClaimedBatch(connection, transaction, rows);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Pending deliveries and the age of the oldest, for the outbox gauges.</summary>
    public async Task<(long Depth, DateTime? Oldest)> DepthAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<(long, DateTime?)>(new CommandDefinition(
            "select count(*), min(created_at) from webhook_deliveries where status = 'pending'", cancellationToken: cancellationToken));
    }

    /// <summary>Deletes delivered and failed deliveries older than <paramref name="before"/>, and events nothing
    /// waits for any more. Pending rows are never pruned.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var deliveries = await connection.ExecuteAsync(
            "delete from webhook_deliveries where status <> 'pending' and created_at < @before", new { before }, transaction);
        var events = await connection.ExecuteAsync("""
            delete from webhook_events e where e.created_at < @before
            and not exists (select 1 from webhook_deliveries d where d.event_id = e.id)
            """, new { before }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return deliveries + events;
    }
}

/// <summary>Claimed deliveries and the transaction that holds their locks: record outcomes, then commit. Disposing
/// without committing rolls back, and the deliveries are due again.</summary>
public sealed class ClaimedBatch(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<ClaimedDelivery> items)
    : IAsyncDisposable
{
    public IReadOnlyList<ClaimedDelivery> Items => items;

    public async Task RecordAsync(IReadOnlyList<DeliveryOutcome> outcomes, CancellationToken cancellationToken)
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

        await transaction.CommitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}
