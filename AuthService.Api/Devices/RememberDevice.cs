using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Devices;
using AuthService.Core.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Devices;

/// <summary>The remembered-device side of a login (<c>/verify</c>, DESIGN §9.3). Before the proof is checked: the
/// <c>rememberDevice</c> label, and whether the optional <c>deviceToken</c> the portal holds for this browser is a live one of
/// this user (a read; nothing is marked). What the login then writes about its browser travels with the proof as a
/// <see cref="LoginDevice"/> and commits with the login itself: <c>new_device_login</c> for a login without a live token (for a
/// TOTP code, in the coalesced batch's commit), and the remembered device with its token's hash (in the single-user path's
/// transaction, right after the spend, under the user's lock). So a factor change, reset or lockout is either before the login
/// or after the device exists, and revokes it; there is no moment in between.</summary>
public sealed class RememberDevice(NpgsqlDataSource dataSource, TimeProvider time, IOptions<DeviceOptions> options)
{
    public async Task<Result<T>> LoginAsync<T>(string userId, RememberDeviceRequest? remember, string? deviceToken, Guid? actor,
        Func<LoginDevice, Task<Result<T>>> verify, CancellationToken cancellationToken) where T : IDeviceLogin<T>
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

        if (remember is null)
        {
            return await verify(new LoginDevice(IsNew: !known, Remember: null));
        }

        var (token, hash) = DeviceTokens.Create();
        var device = new DeviceToRemember(Version7Ids.New(now), hash, Core.Factors.FactorLabels.Normalize(remember.Label) ?? DeviceTokens.DefaultLabel,
            now.AddDays(options.Value.RememberDays), options.Value.MaxPerUser);
        var verified = await verify(new LoginDevice(IsNew: !known, device));
        return verified.Error is null ? verified.Value!.WithDevice(token, device.ExpiresAt) : verified;
    }
}
