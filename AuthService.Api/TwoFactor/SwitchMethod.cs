using AuthService.Api.Http;
using AuthService.Core.Factors;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts a switch to another method (or a new device or number): the proof of the current factor is consumed
/// first; the current factor keeps working until the new one is confirmed.</summary>
public sealed class SwitchMethod(ProofCheck proofs, MethodRequests requests, PendingFactors pending, TimeProvider time)
{
    public const string Stage = "switch_method";

    public async Task<Result<PendingStarted>> StartAsync(string userId, SwitchMethodRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if (requests.Check(request.Method, request.AccountName, request.PhoneNumber, request.Channel) is { } invalid)
        {
            return invalid;
        }

        var proof = await proofs.ConsumeAsync(userId, request.Proof, actor, Stage, cancellationToken);
        return proof.Error is not null ? proof.Error : await StartConsumedAsync(userId, request, actor, cancellationToken);
    }

    /// <summary>The new pending factor once the proof was consumed (by a code here, or by a passkey assertion).</summary>
    public Task<Result<PendingStarted>> StartConsumedAsync(string userId, SwitchMethodRequest request, Guid? actor, CancellationToken cancellationToken) =>
        pending.StartAsync(userId, PendingPurposes.Switch, request.Method!, request.AccountName, request.PhoneNumber, request.Channel, actor,
            time.GetUtcNow(), cancellationToken);
}
