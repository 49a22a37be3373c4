using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.Devices;

/// <summary>The user's remembered devices (scope <c>manage</c>): the list (never a token), revoking one, revoking all (e.g. on
/// a password change). A revocation deletes the row: the token is then exactly as unknown as one never issued.</summary>
public sealed class DeviceManagement(NpgsqlDataSource dataSource, TimeProvider time)
{
    public static readonly Problem DeviceNotFound = new(404, ProblemCodes.DeviceNotFound, "No such device.",
        "The user has no remembered device with this id: it was revoked, it expired, or it is another user's.");

    public async Task<DeviceListResponse> ListAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await DeviceStore.ListByUserIdAsync(connection, userId, time.GetUtcNow());
        return new DeviceListResponse(rows.Select(d => new DeviceView(d.Id, d.Label, Timestamps.Utc(d.CreatedAt), Timestamps.Utc(d.LastUsedAt),
            Timestamps.Utc(d.ExpiresAt))).ToList());
    }

    public async Task<Result<bool>> RevokeAsync(string userId, Guid deviceId, Guid? actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var now = time.GetUtcNow();
        if (!await DeviceStore.DeleteAsync(connection, transaction, userId, deviceId, now))
        {
            await transaction.CommitAsync(cancellationToken); // an expired row found is gone too
            return DeviceNotFound;
        }

        await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.DevicesRevoked(1, "revoked", deviceId), now, actor);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<DevicesRevokedResponse> RevokeAllAsync(string userId, Guid? actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Under the user's lock, which a login that remembers its browser holds while it stores the device: without it, a
        // device not yet committed when this delete ran survived the revocation, and its audit row came before this one's.
        await AttemptLedger.LockUserAsync(connection, transaction, userId);
        var now = time.GetUtcNow();
        var revoked = await DeviceStore.DeleteAllByUserIdAsync(connection, transaction, userId, now);
        if (revoked > 0)
        {
            await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.DevicesRevoked(revoked, "revoke_all"), now, actor);
        }

        await transaction.CommitAsync(cancellationToken);
        return new DevicesRevokedResponse(revoked);
    }
}
