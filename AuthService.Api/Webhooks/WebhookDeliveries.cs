using AuthService.Api.Http;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>The deliveries of one webhook endpoint: a page of them, and sending one again.</summary>
public sealed class WebhookDeliveries(NpgsqlDataSource dataSource, TimeProvider time)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;

    /// <summary>Newest first, before delivery id <paramref name="before"/> (when given), only of <paramref name="status"/> (when given).</summary>
    public async Task<Result<WebhookDeliveryPage>> ListAsync(Guid endpointId, int? limit, long? before, string? status, CancellationToken cancellationToken)
    {
        var size = limit ?? DefaultPageSize;
        if (size is < 1 or > MaxPageSize || before is < 1 || (status is not null && !WebhookDeliveryStatuses.All.Contains(status)))
        {
            return Problems.Validation("limit must be 1–200, before a positive delivery id, status pending, delivered or failed.");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await WebhookStore.GetEndpointByIdAsync(connection, endpointId, cancellationToken) is null)
        {
            return WebhookEndpoints.NotFound;
        }

        var rows = await WebhookStore.ListDeliveriesByEndpointIdAsync(connection, endpointId, status, before, size + 1, cancellationToken);
        var items = rows.Take(size).Select(r => r.ToResponse()).ToList();
        return new WebhookDeliveryPage(items, rows.Count > size ? items[^1].Id : null);
    }

    /// <summary>A pending delivery becomes due now; a delivered or failed one is queued again as a new delivery of the same event.</summary>
    public async Task<Result<WebhookDeliveryResponse>> RedeliverAsync(Guid endpointId, long deliveryId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await WebhookStore.GetEndpointByIdAsync(connection, endpointId, cancellationToken) is null)
        {
            return WebhookEndpoints.NotFound;
        }

        return await WebhookStore.RedeliverByIdAsync(connection, endpointId, deliveryId, time.GetUtcNow(), cancellationToken) is { } row
            ? row.ToResponse()
            : new Problem(404, ProblemCodes.DeliveryNotFound, "No such delivery.", "This endpoint has no delivery with this id.");
    }
}
