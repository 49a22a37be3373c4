using AuthService.Api.Http;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using AuthService.Core.Totp;

namespace AuthService.Api.TwoFactor;

/// <summary>Confirms a pending enrollment or switch with its first code: a TOTP code of the new secret, or the code sent to
/// the new number for that pending row.</summary>
public sealed class ConfirmWithCode(PendingConfirmation confirmation, SecretBox secrets)
{
    public Task<Result<ConfirmResponse>> ConfirmEnrollmentAsync(string userId, string? code, Guid? actor, CancellationToken cancellationToken) =>
        ShapeProblem(code) is { } invalid
            ? Task.FromResult<Result<ConfirmResponse>>(invalid)
            : confirmation.ConfirmEnrollmentAsync(userId, null, actor, Check(code!), cancellationToken);

    public Task<Result<SwitchConfirmResponse>> ConfirmSwitchAsync(string userId, string? code, Guid? actor, CancellationToken cancellationToken) =>
        ShapeProblem(code) is { } invalid
            ? Task.FromResult<Result<SwitchConfirmResponse>>(invalid)
            : confirmation.ConfirmSwitchAsync(userId, null, actor, Check(code!), cancellationToken);

    public Task<Result<FactorConfirmResponse>> ConfirmAdditionAsync(string userId, Guid pendingId, string? code, Guid? actor,
        CancellationToken cancellationToken) =>
        ShapeProblem(code) is { } invalid
            ? Task.FromResult<Result<FactorConfirmResponse>>(invalid)
            : confirmation.ConfirmAdditionAsync(userId, pendingId, null, actor, Check(code!), cancellationToken);

    private static Problem? ShapeProblem(string? code) =>
        code is null || code.Length > 64 ? Problems.Validation("code is required (at most 64 characters).") : null;

    private PendingConfirmation.Check Check(string code) => async (connection, transaction, pending, now) =>
    {
        if (pending.Method == FactorMethods.Totp)
        {
            var check = TotpVerifier.Verify(secrets.OpenTotpSecret(pending), pending.Profile(), code, now, -1);
            return new PendingCheck(check.Accepted, check.Step);
        }

        return new PendingCheck(await PhoneCodeCheck.TryConsumeAsync(connection, transaction, secrets, pending.UserId, PhoneCodes.PendingPurpose,
            pending.Id, code, now, expectedCodeId: pending.Id));
    };
}
