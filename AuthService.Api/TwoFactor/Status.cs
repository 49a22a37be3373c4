using AuthService.Api.Storage;
using AuthService.Api.TwoFactor.Methods;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The second-factor status of a user: what is enabled, what is pending, how many backup codes are left.</summary>
public sealed class Status(NpgsqlDataSource dataSource, FactorMethodRegistry methods, TimeProvider time)
{
    public async Task<StatusResponse> GetAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (user, pending, remaining) = await TwoFactorStore.GetStatusAsync(connection, userId, time.GetUtcNow());
        var main = user?.Default;
        var offer = await SmsDeliveryStore.LiveOfferAsync(connection, userId, time.GetUtcNow()); // DESIGN §9.5 SmsThenCall
        return new StatusResponse(
            userId,
            user is not null,
            main?.Method,
            main?.PhoneMasked,
            user is null ? null : Timestamps.Utc(user.EnabledAt),
            remaining,
            user?.Locked == true,
            pending is null ? null : new PendingStatus(pending.Purpose, pending.Method, pending.Channel, Timestamps.Utc(pending.ExpiresAt)),
            user?.Factors.Select(methods.Describe).ToList() ?? [],
            offer is null ? null : new FallbackOffer("call", offer.Purpose, offer.FactorId, Timestamps.Utc(offer.OfferedAt), Timestamps.Utc(offer.ExpiresAt)));
    }
}
