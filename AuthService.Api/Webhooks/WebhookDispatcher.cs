using AuthService.Api.Operations;
using AuthService.Api.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using AuthService.Api.Observability;

namespace AuthService.Api.Webhooks;

/// <summary>Runs on every instance: claims due deliveries, sends them concurrently (each bounded by
/// <c>Webhooks:Timeout</c>), stores outcomes and schedules retries; gives up after <c>Webhooks:RetryFor</c>. It runs
/// beside the requests, never inside one, so a slow receiver cannot slow the API. Also prunes old rows.</summary>
public sealed class WebhookDispatcher(
    NpgsqlDataSource dataSource,
    WebhookSender sender,
    TimeProvider time,
    IOptions<WebhookOptions> options,
    ClockAgreement clock,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    private readonly WebhookOptions _options = options.Value;

    /// <summary>One pass: claims up to <c>BatchSize</c> due deliveries, sends, records. Returns how many it attempted.</summary>
    public async Task<int> DispatchOnceAsync(CancellationToken cancellationToken)
    {
        if (clock.Disagreement is not null)
        {
            // Due times, the retry period and the signed webhook-timestamp are this instance's clock: the other instances
            // deliver meanwhile (the metrics' gauges are theirs too).
            return 0;
        }

        int attempted;
        await using (var batch = await ClaimedBatch.ClaimAsync(dataSource, time.GetUtcNow(), _options.BatchSize, cancellationToken))
        {
            attempted = batch.Items.Count;
            if (attempted > 0)
            {
                var results = await Task.WhenAll(batch.Items.Select(item => AttemptAsync(item, cancellationToken)));
                await batch.RecordAsync(results, cancellationToken);
                foreach (var result in results.Where(r => r.Status == "failed"))
                {
                    logger.LogWarning("Gave up webhook delivery {DeliveryId} after {RetryFor}: {Error}", result.Id, _options.RetryFor, result.LastError);
                }
            }
        }

        // After the batch's connection went back to the pool: the dispatcher holds one connection at a time (OPERATIONS).
        await UpdateGaugesAsync(cancellationToken);
        return attempted;
    }

    /// <summary>At most this many deliveries, and as many events, go per transaction, so that each statement stays well inside
    /// the command timeout however many logins a retention period held. Settable for tests.</summary>
    internal int PruneRowsPerStatement { get; set; } = 5_000;

    /// <summary>At most this many such transactions per prune: the prune runs in the dispatch loop, so a large backlog is worked
    /// off over several passes (every <see cref="Housekeeping.Interval"/>) rather than holding up the dispatch. Settable for tests.</summary>
    internal int PruneRoundsPerPass { get; set; } = 20;

    /// <summary>Removes the endpoints marked deleted that no pass holds (with their deliveries), then deletes delivered and
    /// failed deliveries past <c>Webhooks:Retention</c>, and the events nothing waits for, in bounded transactions until none is
    /// left or <see cref="PruneRoundsPerPass"/> have run.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        if (clock.Disagreement is not null)
        {
            return 0; // a clock far ahead would prune deliveries still inside Webhooks:Retention
        }

        var before = time.GetUtcNow() - _options.Retention;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var pruned = 0;
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await WebhookStore.SetShortLockTimeoutAsync(connection, transaction);
            pruned += await WebhookStore.RemoveDeletedEndpointsAsync(connection, transaction, null, PruneRowsPerStatement);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            // A delivery row held past the lock timeout (a redelivery's update): the next prune removes the endpoint.
        }

        for (var round = 0; round < PruneRoundsPerPass; round++)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var (deliveries, events) = await WebhookQueue.PruneOlderThanAsync(connection, transaction, before, PruneRowsPerStatement);
            await transaction.CommitAsync(cancellationToken);
            pruned += deliveries + events;
            if (deliveries < PruneRowsPerStatement && events < PruneRowsPerStatement)
            {
                break;
            }
        }

        return pruned;
    }

    private async Task<DeliveryOutcome> AttemptAsync(ClaimedDelivery item, CancellationToken cancellationToken)
    {
        var result = await sender.SendAsync(item, time.GetUtcNow(), cancellationToken);
        var now = time.GetUtcNow();
        WebhookMetrics.Deliveries.WithLabels(result.Outcome).Inc();
        if (result.Delivered)
        {
            return new DeliveryOutcome(item.Id, "delivered", now, result.Status, null, now);
        }

        var createdAt = Timestamps.Utc(item.CreatedAt);
        if (now - createdAt >= _options.RetryFor)
        {
            WebhookMetrics.Deliveries.WithLabels("failed").Inc();
            return new DeliveryOutcome(item.Id, "failed", now, result.Status, result.Error, now);
        }

        var delay = WebhookBackoff.Delay(item.Attempts + 1, _options.FirstBackoff, _options.MaxBackoff, Random.Shared.NextDouble());
        if (result.OutcomeUnknown)
        {
            logger.LogInformation("Webhook delivery {DeliveryId} outcome unknown ({Outcome}); the retry may duplicate it", item.Id, result.Outcome);
        }

        return new DeliveryOutcome(item.Id, "pending", now, result.Status, result.Error, now + delay);
    }

    private async Task UpdateGaugesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (depth, oldest) = await WebhookQueue.GetPendingDepthAsync(connection, cancellationToken);
        WebhookMetrics.OutboxDepth.Set(depth);
        WebhookMetrics.OldestPendingAge.Set(oldest is { } o
            ? Math.Max(0, (time.GetUtcNow() - Timestamps.Utc(o)).TotalSeconds)
            : 0);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Dispatch)
        {
            return;
        }

        var nextPrune = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            var attempted = 0;
            try
            {
                attempted = await DispatchOnceAsync(stoppingToken);
                if (time.GetUtcNow() >= nextPrune)
                {
                    nextPrune = time.GetUtcNow() + Housekeeping.Interval;
                    if (await PruneAsync(stoppingToken) is var pruned and > 0)
                    {
                        logger.LogInformation("Pruned {Rows} old webhook rows", pruned);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database is away or a pass failed: claimed rows were rolled back and are due again.
                logger.LogWarning("Webhook dispatch pass failed: {Reason}", e.Message);
            }

            if (attempted < _options.BatchSize)
            {
                try
                {
                    await Task.Delay(_options.PollInterval, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
