using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Sends a fresh login code to a phone user; the previous one dies. With an Idempotency-Key
/// (<see cref="IdempotentRequests"/>), a retry returns the first answer and sends nothing.</summary>
public sealed class Challenge(NpgsqlDataSource dataSource, SecretBox secrets, PhoneCodeDelivery delivery, IdempotentRequests idempotency,
    TimeProvider time)
{
    public async Task<Result<ChallengeResponse>> SendAsync(string userId, string? channel, string? idempotencyKey, Guid? actor,
        CancellationToken cancellationToken)
    {
        if (!Channels.IsPhone(channel))
        {
            return MethodRequests.BadChannel;
        }

        return IdempotentRequests.KeyProblem(idempotencyKey) is { } invalid
            ? invalid
            : await idempotency.RunAsync(userId, idempotencyKey, () => SendCodeAsync(userId, channel!, actor, cancellationToken), cancellationToken);
    }

    private async Task<Result<ChallengeResponse>> SendCodeAsync(string userId, string channel, Guid? actor, CancellationToken cancellationToken)
    {
        FactorRow? factor;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            factor = await TwoFactorStore.GetFactorAsync(connection, null, userId);
        }

        if (Refusal(factor, FactorMethods.Phone) is { } refused)
        {
            return refused;
        }

        var phone = factor!; // (a phone factor: Refusal said so)
        var now = time.GetUtcNow();
        var sent = await delivery.DeliverAsync(new CodeSend(userId, secrets.OpenPhoneNumber(phone), phone.PhoneHash!, channel, PhoneCodes.LoginPurpose,
            Guid.CreateVersion7(now), actor), now, cancellationToken);
        return sent.Error is not null ? sent.Error : new ChallengeResponse(channel, phone.PhoneMasked!, sent.Value);
    }

    /// <summary>Why no challenge of <paramref name="method"/> is issued to this factor (none, another method, locked), or null.</summary>
    public static Problem? Refusal(FactorRow? factor, string method) =>
        factor is null ? Problems.NotEnabled
        : factor.Method != method ? Problems.NoChallengeForMethod
        : factor.LockedAt is not null ? Problems.Locked
        : null;
}
