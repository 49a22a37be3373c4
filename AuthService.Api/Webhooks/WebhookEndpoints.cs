using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>The registered webhook endpoints: list, read and delete one (its pending deliveries go with it).</summary>
public sealed class WebhookEndpoints(NpgsqlDataSource dataSource, TimeProvider time)
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

    /// <summary>Null when deleted (and audited with the acting key), else why not.</summary>
    public async Task<Problem?> DeleteAsync(Guid id, Guid? actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await WebhookStore.DeleteEndpointByIdAsync(connection, transaction, id, cancellationToken) is not { } url)
        {
            return NotFound;
        }

        await AuditLog.AppendAsync(connection, transaction, null, new AuditEvent.WebhookEndpointDeleted(id, RegisterWebhook.HostOf(url)),
            time.GetUtcNow(), actor);
        await transaction.CommitAsync(cancellationToken);
        return null;
    }
}
