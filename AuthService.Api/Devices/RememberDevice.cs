using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Devices;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Devices;

/// <summary>The remembered-device side of a login (<c>/verify</c>, DESIGN §9.3). Before the proof is checked: the
/// <c>rememberDevice</c> label, and whether the optional <c>deviceToken</c> the portal holds for this browser is a live one of
/// this user (a read; nothing is marked). A login without one is from a new device: the proof path writes
/// <c>new_device_login</c> in the login's own transaction (<see cref="NewDeviceNotice"/>; for a TOTP code, in the coalesced
/// batch's commit), so it costs no commit of its own. After a successful proof, when asked, the device is stored in a
/// transaction under the user's lock (the oldest beyond <see cref="DeviceOptions.MaxPerUser"/> dropped), only while the factor
/// that proved the login is still the user's and the user is not locked, so a change or lockout that commits in between
/// leaves no device behind (the login answers without a token).</summary>
public sealed class RememberDevice(NpgsqlDataSource dataSource, TimeProvider time, IOptions<DeviceOptions> options)
{
    public async Task<Result<T>> LoginAsync<T>(string userId, RememberDeviceRequest? remember, string? deviceToken, Guid? actor,
        Func<NewDeviceNotice?, Task<Result<T>>> verify, CancellationToken cancellationToken) where T : IDeviceLogin<T>
    {
        if (remember is not null && Core.Factors.FactorLabels.Problem(remember.Label) is { } badLabel)
        {
            return Problems.Validation("rememberDevice." + badLabel);
        }

        var now = time.GetUtcNow();
        var known = false;
        if (deviceToken is not null)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            known = await DeviceStore.IsLiveAsync(connection, userId, DeviceTokens.Hash(deviceToken), now);
        }

        Guid? deviceId = remember is null ? null : Guid.CreateVersion7(now);
        var verified = await verify(known ? null : new NewDeviceNotice(deviceId));
        if (verified.Error is not null || remember is null)
        {
            return verified;
        }

        var login = verified.Value!;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await AttemptLedger.LockUserAsync(connection, transaction, userId);
            var (token, hash) = DeviceTokens.Create();
            var expiresAt = now.AddDays(options.Value.RememberDays);
            var label = remember.Label?.Trim() ?? DeviceTokens.DefaultLabel;
            if (!await DeviceStore.InsertAsync(connection, transaction, userId, deviceId!.Value, hash, label, now, expiresAt, login.FactorId))
            {
                return login;
            }

            await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.DeviceRemembered(deviceId.Value, label, expiresAt), now, actor);
            var dropped = await DeviceStore.DeleteBeyondAsync(connection, transaction, userId, options.Value.MaxPerUser);
            if (dropped > 0)
            {
                await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.DevicesRevoked(dropped, "limit"), now, actor);
            }

            await transaction.CommitAsync(cancellationToken);
            return login.WithDevice(token, expiresAt);
        }
    }
}
