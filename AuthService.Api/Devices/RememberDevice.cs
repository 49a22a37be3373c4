using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Devices;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Devices;

/// <summary>The remembered-device side of a login (<c>/verify</c>, DESIGN §9.3). Before the proof is checked: the
/// <c>rememberDevice</c> label. After a successful proof, in one transaction of its own under the user's lock: the optional
/// <c>deviceToken</c> the portal holds for this browser (a valid one of this user marks the device used), the new device when
/// asked for (the oldest beyond <see cref="DeviceOptions.MaxPerUser"/> dropped), and <c>new_device_login</c> when the login did
/// not come with a valid token. Not in the verify's own transaction: the TOTP verify is decided in a coalesced batch, which
/// stays as it is; a device is stored only while the factor that proved the login is still the user's and the user is not
/// locked, so a change or lockout that commits in between leaves no device behind (the login answers without a token).</summary>
public sealed class RememberDevice(NpgsqlDataSource dataSource, TimeProvider time, IOptions<DeviceOptions> options)
{
    public async Task<Result<T>> LoginAsync<T>(string userId, RememberDeviceRequest? remember, string? deviceToken, Guid? actor,
        Func<Task<Result<T>>> verify, CancellationToken cancellationToken) where T : IDeviceLogin<T>
    {
        if (remember is not null && Core.Factors.FactorLabels.Problem(remember.Label) is { } badLabel)
        {
            return Problems.Validation("rememberDevice." + badLabel);
        }

        var verified = await verify();
        if (verified.Error is not null)
        {
            return verified;
        }

        var login = verified.Value!;
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (deviceToken is null && remember is null)
        {
            // The common login: only the event, one statement (audit row and outbox rows together), one round trip.
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(AuditLog.Command(userId, new AuditEvent.NewDeviceLogin(login.Method, login.FactorId), now, actor));
            await batch.ExecuteNonQueryAsync(cancellationToken);
            return login;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var known = deviceToken is not null && await DeviceStore.TouchByTokenHashAsync(connection, transaction, userId, DeviceTokens.Hash(deviceToken), now);
        (Guid Id, string Token, DateTimeOffset ExpiresAt)? issued = null;
        if (remember is not null)
        {
            await AttemptLedger.LockUserAsync(connection, transaction, userId);
            var (token, hash) = DeviceTokens.Create();
            var id = Guid.CreateVersion7(now);
            var expiresAt = now.AddDays(options.Value.RememberDays);
            var label = remember.Label?.Trim() ?? DeviceTokens.DefaultLabel;
            if (await DeviceStore.InsertAsync(connection, transaction, userId, id, hash, label, now, expiresAt, login.FactorId))
            {
                issued = (id, token, expiresAt);
                await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.DeviceRemembered(id, label, expiresAt), now, actor);
                var dropped = await DeviceStore.DeleteBeyondAsync(connection, transaction, userId, options.Value.MaxPerUser);
                if (dropped > 0)
                {
                    await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.DevicesRevoked(dropped, "limit"), now, actor);
                }
            }
        }

        if (!known)
        {
            await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.NewDeviceLogin(login.Method, login.FactorId, issued?.Id), now, actor);
        }

        await transaction.CommitAsync(cancellationToken);
        return issued is { } device ? login.WithDevice(device.Token, device.ExpiresAt) : login;
    }
}
