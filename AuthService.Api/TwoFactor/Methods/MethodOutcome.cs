using AuthService.Api.Http;
using AuthService.Core.Policy;

namespace AuthService.Api.TwoFactor.Methods;

/// <summary>What a method's check found, for the proof pipeline (<see cref="ProofCheck.CheckGatedAsync{T}"/>) to record: the
/// accepted value; or a refusal — the method's own decision when it made one (a replayed TOTP step), the reason to audit and
/// the answer to show (<c>invalid_passkey</c>…); or an answer that records nothing (<see cref="Answer"/>: the request does not
/// apply to this user). A refusal names the factor it was checked against when the method knows it (a passkey's credential).</summary>
public sealed record MethodOutcome<T>(T? Accepted, ProofDecision? Decision = null, string? Reason = null, Problem? Shown = null,
    Problem? Answer = null, Guid? FactorId = null) where T : class
{
    public static readonly MethodOutcome<T> NoMatch = new((T?)null);

    public static MethodOutcome<T> Accept(T value) => new(value);

    public static MethodOutcome<T> Refuse(string? reason = null, Problem? shown = null, ProofDecision? decision = null, Guid? factorId = null) =>
        new(null, decision, reason, shown, FactorId: factorId);

    public static MethodOutcome<T> Stop(Problem answer) => new(null, Answer: answer);

    public static implicit operator MethodOutcome<T>(T value) => Accept(value);
}
