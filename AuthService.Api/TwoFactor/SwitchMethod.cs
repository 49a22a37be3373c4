using AuthService.Api.Http;
using AuthService.Api.TwoFactor.Methods;
using AuthService.Core.Factors;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts a switch to another method (or a new device, number or passkey). The target is checked first, then the proof
/// of a current factor (<see cref="ChangeProofs"/>); the proof is spent only when the pending switch is stored — after the
/// code reached the provider, for a phone — so a switch refused by a budget, a cap or the provider keeps it. The current factors
/// keep working until the new one is confirmed; it then replaces them all.</summary>
public sealed class SwitchMethod(ChangeProofs proofs, FactorMethodRegistry methods, TimeProvider time)
{
    public const string Stage = "switch_method";

    public async Task<Result<PendingStarted>> StartAsync(string userId, SwitchMethodRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        var target = FactorTarget.Of(request);
        if (methods.TargetProblem(target) is { } invalid)
        {
            return invalid;
        }

        var now = time.GetUtcNow();
        return await proofs.StartProvedAsync(userId, request.Proof, actor, Stage, target, now,
            (proof, claimLapsesAt) => methods.StartAsync(new FactorStart(userId, PendingPurposes.Switch, target, proof, actor, null, now, claimLapsesAt),
                cancellationToken),
            cancellationToken);
    }
}
