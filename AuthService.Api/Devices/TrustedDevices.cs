using AuthService.Api.Storage;
using AuthService.Core.Devices;
using Npgsql;

namespace AuthService.Api.Devices;

/// <summary>The login decision's question (DESIGN §9.3): is <c>deviceToken</c> a live remembered device of this user? Every
/// presented token costs the same work — one SHA-256 and one statement that looks the hash up by its unique index and only then
/// compares expiry and user — so an unknown, revoked (deleted), expired or other user's token cannot be told apart, by the
/// answer or by its time. A valid one is marked used in that same statement.</summary>
public sealed class TrustedDevices(TimeProvider time)
{
    public Task<bool> TrustsAsync(NpgsqlConnection connection, string userId, string deviceToken) =>
        DeviceStore.TouchByTokenHashAsync(connection, null, userId, DeviceTokens.Hash(deviceToken), time.GetUtcNow());
}
