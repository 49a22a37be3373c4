using AuthService.Api.Http;
using AuthService.Api.TwoFactor.Passkeys;
using AuthService.Core.Factors;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts a pending factor of any method — an enrollment, a switch or an addition — after checking the requested
/// method's fields: a TOTP secret or a phone code (<see cref="PendingFactors"/>), or passkey creation options
/// (<see cref="PasskeyEnrollment"/>). The one place that dispatches on the method of a new factor.</summary>
public sealed class FactorStarts(MethodRequests requests, PendingFactors pending, PasskeyEnrollment passkeys, TimeProvider time)
{
    /// <summary>Why the requested method cannot be started (its fields, its destination, passkeys not configured), or null.</summary>
    public Problem? TargetProblem(string? method, string? accountName, string? displayName, string? phoneNumber, string? channel) =>
        method != FactorMethods.Passkey ? requests.Check(method, accountName, phoneNumber, channel)
        : !passkeys.Enabled ? PasskeyProblems.NotConfigured
        : PasskeyEnrollment.LabelProblem(accountName, displayName);

    /// <summary>Starts it; <paramref name="proof"/> (a switch's or an addition's) is spent when the pending row is stored.</summary>
    public Task<Result<PendingStarted>> StartAsync(string userId, string purpose, string method, string? accountName, string? displayName,
        string? phoneNumber, string? channel, CheckedProof? proof, Guid? actor, string? label, CancellationToken cancellationToken) =>
        method == FactorMethods.Passkey
            ? passkeys.StartAsync(userId, purpose, accountName, displayName, proof, actor, cancellationToken, label)
            : pending.StartAsync(userId, purpose, method, accountName, phoneNumber, channel, proof, actor, time.GetUtcNow(), cancellationToken, label);
}
