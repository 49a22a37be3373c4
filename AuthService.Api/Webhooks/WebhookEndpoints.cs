using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>The registered webhook endpoints: list, read and delete one (its pending deliveries are never sent).</summary>
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

    /// <summary>Null when deleted (and audited with the acting key), else why not. The endpoint is marked deleted, which waits
    /// for no delivery in flight (a receiver that hangs is a reason to delete it); its row and deliveries are then removed at
    /// once unless a dispatch pass still holds it, and by the dispatcher's prune if so. A delivery already on the wire when
    /// the mark commits may still arrive.</summary>
    public async Task<Problem?> DeleteAsync(Guid id, Guid? actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            if (await WebhookStore.DeleteEndpointByIdAsync(connection, transaction, id, time.GetUtcNow(), cancellationToken) is not { } url)
            {
                return NotFound;
            }

            await AuditLog.AppendAsync(connection, transaction, null, new AuditEvent.WebhookEndpointDeleted(id, RegisterWebhook.HostOf(url)),
                time.GetUtcNow(), actor);
            await transaction.CommitAsync(cancellationToken);
        }

        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await WebhookStore.SetShortLockTimeoutAsync(connection, transaction);
            await WebhookStore.RemoveDeletedEndpointsAsync(connection, transaction, id, 1);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (NpgsqlException)
        {
            // Deleted already (the mark committed): the row waits for the dispatcher's prune (a lock held past the timeout, or
            // the database gone since the commit).
        }

        return null;
    }
}
