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

    public async Task<Result<ChallengeResponse>> SendAsync(string userId, string? channel, string purpose, Guid? factorId, string? idempotencyKey,
        Guid? actor, CancellationToken cancellationToken)
    {
        if (!Channels.IsPhone(channel))
        {
            return Methods.Phone.PhoneMethod.BadChannel;
        }

        if (IdempotentRequests.KeyProblem(idempotencyKey) is { } invalid)
        {
            return invalid;
        }

        UserFactors? user;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            user = await TwoFactorStore.GetUserAsync(connection, null, userId);
        }

        var picked = Pick(user, FactorMethods.Phone, factorId);
        if (picked.Error is { } refused)
        {
            return refused;
        }

        var phone = picked.Value!; // (a phone factor: Pick said so)
        var request = IdempotentRequests.Fingerprint(Route, channel, purpose, actor?.ToString("N"), phone.FactorId.ToString("N"));
        return await idempotency.RunAsync(userId, idempotencyKey, request, phone.FactorId,
            claimLapsesAt => SendCodeAsync(phone, channel!, purpose, actor, claimLapsesAt, cancellationToken), cancellationToken);
    }

    private async Task<Result<ChallengeResponse>> SendCodeAsync(FactorRow phone, string channel, string purpose, Guid? actor,
        DateTimeOffset? claimLapsesAt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var sent = await delivery.DeliverAsync(new CodeSend(phone.UserId, secrets.OpenPhoneNumber(phone), phone.PhoneHash!, Channels.Parse(channel), purpose,
            Version7Ids.New(now), phone.FactorId, actor, (_, _, current, _) => Task.FromResult(StillThe(phone, current)), claimLapsesAt), now,
            cancellationToken);
        return sent.Error is not null ? sent.Error : new ChallengeResponse(channel, phone.PhoneMasked!, sent.Value, purpose);
    }

    /// <summary>Null while the factor a challenge was issued for is still one of <paramref name="current"/>'s; otherwise 409
    /// <c>factor_changed</c>.</summary>
    public static Problem? StillThe(FactorRow issuedFor, UserFactors? current) =>
        current?.Find(issuedFor.FactorId) is { } factor && factor.Method == issuedFor.Method ? null : Problems.FactorChanged;

    /// <summary>The factor of <paramref name="method"/> a challenge is for: the one named (<paramref name="factorId"/>), else the
    /// default factor if it is of that method, else the user's oldest of that method. Refused when 2FA is off, the named factor is
    /// not the user's (404), no factor of the method exists (409 <c>no_challenge_for_method</c>) or the user is locked.</summary>
    public static Result<FactorRow> Pick(UserFactors? user, string method, Guid? factorId)
    {
        if (user is null)
        {
            return Problems.NotEnabled;
        }

        var factor = factorId is { } id ? user.Find(id) : user.OfMethod(method).FirstOrDefault();
        return factorId is not null && factor is null ? Problems.FactorNotFound
            : factor is null || factor.Method != method ? (method == FactorMethods.Passkey ? Problems.NoPasskeyToChallenge : Problems.NoPhoneToChallenge)
            : user.Locked ? Problems.Locked
            : factor;
    }
}
