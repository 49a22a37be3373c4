using AuthService.Api.Http;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>The registered webhook endpoints: list, read and delete one (its pending deliveries go with it).</summary>
public sealed class WebhookEndpoints(NpgsqlDataSource dataSource)
{
    public static readonly Problem NotFound = new(404, ProblemCodes.WebhookNotFound, "No such webhook endpoint.", "No webhook endpoint has this id.");

    public async Task<WebhookListResponse> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return new WebhookListResponse((await WebhookStore.ListEndpointsAsync(connection, cancellationToken)).Select(r => r.ToResponse()).ToList());
    }

    public async Task<Result<WebhookResponse>> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await WebhookStore.GetEndpointByIdAsync(connection, id, cancellationToken) is { } row ? row.ToResponse() : NotFound;
    }

    /// <summary>Null when deleted, else why not.</summary>
    public async Task<Problem?> DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await WebhookStore.DeleteEndpointByIdAsync(connection, id, cancellationToken) ? null : NotFound;
    }
}
