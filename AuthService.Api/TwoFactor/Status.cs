using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The second-factor status of a user: what is enabled, what is pending, how many backup codes are left.</summary>
public sealed class Status(NpgsqlDataSource dataSource, TimeProvider time)
{
    public async Task<StatusResponse> GetAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (factor, pending, remaining) = await TwoFactorStore.GetStatusAsync(connection, userId, time.GetUtcNow());
        return new StatusResponse(
            userId,
            factor is not null,
            factor?.Method,
            factor?.PhoneMasked,
            factor is null ? null : Timestamps.Utc(factor.EnabledAt),
            remaining,
            factor?.LockedAt is not null,
            pending is null ? null : new PendingStatus(pending.Purpose, pending.Method, pending.Channel, Timestamps.Utc(pending.ExpiresAt)));
    }
}
