using AuthService.Api.Http;
using AuthService.Api.TwoFactor;
using AuthService.Core.Factors;

namespace AuthService.Api.Passkeys;

/// <summary>Method switches that involve a passkey: to a passkey (proved by a code or backup code of the current
/// factor), or away from one (proved by a passkey assertion). The target is checked before the proof is spent; the
/// current factor keeps working until the switch is confirmed.</summary>
public sealed class PasskeySwitch(ProofCheck proofs, SwitchMethod switching, MethodRequests requests, PasskeyEnrollment enrollment,
    PasskeyVerification verification)
{
    public static bool Handles(SwitchMethodRequest request) =>
        request.Method == FactorMethods.Passkey || request.Proof?.Credential is not null;

    public async Task<Result<PendingStarted>> StartAsync(string userId, SwitchMethodRequest request, Guid? actor, CancellationToken ct)
    {
        if (request.Method == FactorMethods.Passkey)
        {
            if (!enrollment.Enabled)
            {
                return PasskeyProblems.NotConfigured;
            }

            if (PasskeyEnrollment.LabelProblem(request.AccountName, request.DisplayName) is { } invalidLabel)
            {
                return invalidLabel;
            }
        }
        else if (requests.Check(request.Method, request.AccountName, request.PhoneNumber, request.Channel) is { } invalid)
        {
            return invalid;
        }

        var proof = await ConsumeProofAsync(userId, request.Proof, actor, SwitchMethod.Stage, ct);
        if (proof.Error is not null)
        {
            return proof.Error;
        }

        return request.Method == FactorMethods.Passkey
            ? await enrollment.StartAsync(userId, PendingPurposes.Switch, request.AccountName, request.DisplayName, actor, ct)
            : await switching.StartConsumedAsync(userId, request, actor, ct);
    }

    /// <summary>A passkey assertion, or a code or backup code through the path every other proof takes.</summary>
    private Task<Result<VerifyResponse>> ConsumeProofAsync(string userId, Proof? proof, Guid? actor, string stage, CancellationToken ct)
    {
        if (proof?.Credential is not { } credential)
        {
            return proofs.ConsumeAsync(userId, proof, actor, stage, ct);
        }

        return proof.Code is not null || proof.BackupCode is not null
            ? Task.FromResult<Result<VerifyResponse>>(OneProofOnly)
            : verification.ConsumeAsync(userId, credential, actor, stage, ct);
    }

    public static readonly Problem OneProofOnly = Problems.Validation("Send exactly one of code, backupCode and credential.");
}
