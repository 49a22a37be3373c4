using AuthService.Api.Http;
using AuthService.Api.TwoFactor.Methods;

namespace AuthService.Api.TwoFactor;

/// <summary>Confirms a pending enrollment, switch or addition with its first code, checked by the pending factor's method: a
/// TOTP code of the new secret, or the code sent to the new number for that pending row.</summary>
public sealed class ConfirmWithCode(PendingConfirmation confirmation, FactorMethodRegistry methods)
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
        code is null || !Core.Text.PrintableText.IsValid(code) // characters as the schema's maxLength counts them (code points)
            ? Problems.Validation($"code is required (at most {Core.Text.PrintableText.MaxLength} printable characters).")
            : null;

    /// <summary>The pending factor's own method checks its first code (<see cref="IFactorMethod.CheckPendingCodeAsync"/>).</summary>
    private PendingConfirmation.Check Check(string code) => (connection, transaction, pending, now) =>
        methods[pending.Method].CheckPendingCodeAsync(connection, transaction, pending, code, now);
}
