using AuthService.Api.Http;
using AuthService.Api.Passkeys;
using AuthService.Core.Factors;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts a switch to another method (or a new device, number or passkey). The target is checked first, then the proof
/// of the current factor (<see cref="ChangeProofs"/>); the proof is spent only when the pending switch is stored — after the
/// code reached the provider, for a phone — so a switch refused by a budget, a cap or the provider keeps it. The current factor
/// keeps working until the new one is confirmed.</summary>
public sealed class SwitchMethod(ChangeProofs proofs, MethodRequests requests, PendingFactors pending, PasskeyEnrollment passkeys, TimeProvider time)
{
    public const string Stage = "switch_method";

    public async Task<Result<PendingStarted>> StartAsync(string userId, SwitchMethodRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if (TargetProblem(request) is { } invalid)
        {
            return invalid;
        }

        var proof = await proofs.CheckAsync(userId, request.Proof, actor, Stage, cancellationToken);
        if (proof.Error is not null)
        {
            return proof.Error;
        }

        return request.Method == FactorMethods.Passkey
            ? await passkeys.StartAsync(userId, PendingPurposes.Switch, request.AccountName, request.DisplayName, proof.Value, actor, cancellationToken)
            : await pending.StartAsync(userId, PendingPurposes.Switch, request.Method!, request.AccountName, request.PhoneNumber, request.Channel,
                proof.Value, actor, time.GetUtcNow(), cancellationToken);
    }

    private Problem? TargetProblem(SwitchMethodRequest request) =>
        request.Method != FactorMethods.Passkey ? requests.Check(request.Method, request.AccountName, request.PhoneNumber, request.Channel)
        : !passkeys.Enabled ? PasskeyProblems.NotConfigured
        : PasskeyEnrollment.LabelProblem(request.AccountName, request.DisplayName);
}
