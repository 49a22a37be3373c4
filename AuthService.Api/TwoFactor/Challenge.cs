using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Sends a fresh code to a phone user, for a login (<c>purpose</c> <c>login</c>, accepted only at <c>/verify</c>) or
/// as the proof of a change (<c>proof</c>); the previous code of that purpose dies. The code is bound to the factor it was sent
/// for: if the factor is switched or reset while the provider answers, the code is not kept (409 <c>factor_changed</c>). With
/// an Idempotency-Key (<see cref="IdempotentRequests"/>, bound to this request and factor), a retry returns the first answer
/// and sends nothing.</summary>
public sealed class Challenge(NpgsqlDataSource dataSource, SecretBox secrets, PhoneCodeDelivery delivery, IdempotentRequests idempotency,
    TimeProvider time)
{
    public const string Route = "challenge";

    public static readonly Problem BadPurpose = Problems.Validation("purpose must be 'login' or 'proof'.");

    public async Task<Result<ChallengeResponse>> SendAsync(string userId, string? channel, string purpose, string? idempotencyKey, Guid? actor,
        CancellationToken cancellationToken)
    {
        if (!Channels.IsPhone(channel))
        {
            return MethodRequests.BadChannel;
        }

        if (IdempotentRequests.KeyProblem(idempotencyKey) is { } invalid)
        {
            return invalid;
        }

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
        var request = IdempotentRequests.Fingerprint(Route, channel, purpose, actor?.ToString("N"), phone.FactorId.ToString("N"));
        return await idempotency.RunAsync(userId, idempotencyKey, request, () => SendCodeAsync(phone, channel!, purpose, actor, cancellationToken),
            cancellationToken);
    }

    private async Task<Result<ChallengeResponse>> SendCodeAsync(FactorRow phone, string channel, string purpose, Guid? actor,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var sent = await delivery.DeliverAsync(new CodeSend(phone.UserId, secrets.OpenPhoneNumber(phone), phone.PhoneHash!, Channels.Parse(channel), purpose,
            Guid.CreateVersion7(now), phone.FactorId, actor, (_, _, current, _) => Task.FromResult(StillThe(phone, current))), now, cancellationToken);
        return sent.Error is not null ? sent.Error : new ChallengeResponse(channel, phone.PhoneMasked!, sent.Value, purpose);
    }

    /// <summary>Null while <paramref name="current"/> is the very factor a challenge was issued for; otherwise 409 <c>factor_changed</c>.</summary>
    public static Problem? StillThe(FactorRow issuedFor, FactorRow? current) =>
        current is not null && current.FactorId == issuedFor.FactorId && current.Method == issuedFor.Method ? null : Problems.FactorChanged;

    /// <summary>Why no challenge of <paramref name="method"/> is issued to this factor (none, another method, locked), or null.</summary>
    public static Problem? Refusal(FactorRow? factor, string method) =>
        factor is null ? Problems.NotEnabled
        : factor.Method != method ? Problems.NoChallengeForMethod
        : factor.LockedAt is not null ? Problems.Locked
        : null;
}
