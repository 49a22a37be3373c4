using AuthService.Api.Http;
using AuthService.Api.TwoFactor.Methods;
using AuthService.Api.TwoFactor.Passkeys;
using AuthService.Core.Factors;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The proof of a change (a switch, new backup codes), whatever its kind: a TOTP code, a phone code of a <c>proof</c>
/// challenge or a backup code (<see cref="CodeProofs"/>), or a passkey assertion of a <c>proof</c> challenge
/// (<see cref="PasskeyVerification"/>). Checked under the user's lock, not spent: the change spends it
/// (<see cref="ProofCheck.SpendAsync"/>).</summary>
public sealed class ChangeProofs(CodeProofs codes, ProofCheck proofs, PasskeyVerification passkeys, PendingFactors pending, FactorMethodRegistry methods)
{
    public static readonly Problem OneProofOnly = Problems.Validation("Send exactly one of code, backupCode, bypassCode and credential.");

    /// <summary>A bypass code lets a user in for as long as support allowed (its uses, its minutes, until revoked); a browser
    /// remembered on it would skip the second step for 30 days more, past a revocation. So a bypass login remembers nothing.</summary>
    public static readonly Problem NoDeviceForABypass = Problems.Validation(
        "rememberDevice cannot be used with a bypassCode: a support bypass is temporary, and a remembered browser would outlive it.");

    /// <param name="excluded">A factor that may not prove the change (the one a removal removes).</param>
    public Task<Result<CheckedProof>> CheckAsync(string userId, Proof? proof, Guid? actor, string stage, CancellationToken cancellationToken,
        Guid? excluded = null) =>
        proof?.Credential is not { } credential ? codes.CheckAsync(userId, proof, actor, stage, cancellationToken, excluded)
        : proof.Code is not null || proof.BackupCode is not null || proof.BypassCode is not null ? Task.FromResult<Result<CheckedProof>>(OneProofOnly)
        : passkeys.CheckAsync(userId, credential, actor, stage, cancellationToken, excluded);

    /// <summary>Checks the proof of a change, then runs <paramref name="start"/> with it. A change to <paramref name="target"/> that
    /// sends a code (a method that <see cref="IFactorMethod.SendsOnStart"/>: a phone) spends its proof only once that code is stored, after the send: so the check and the start run
    /// under the user's one claim for such a change (<see cref="PendingFactors.ClaimedAsync{T}"/>), and a second one while it
    /// is held is refused (409 <c>change_in_progress</c>) before it checks, reserves or sends anything. The check is inside the
    /// claim: checked before it, a proof could pass just before another request spent it, and send a second text once that
    /// request gave the claim back. <paramref name="start"/> is given the time the claim lapses (null without one), for its send
    /// (<see cref="FactorStart.ClaimLapsesAt"/>).</summary>
    public Task<Result<PendingStarted>> StartProvedAsync(string userId, Proof? proof, Guid? actor, string stage, FactorTarget target, DateTimeOffset now,
        Func<CheckedProof, DateTimeOffset?, Task<Result<PendingStarted>>> start, CancellationToken cancellationToken)
    {
        async Task<Result<PendingStarted>> CheckAndStartAsync(DateTimeOffset? claimLapsesAt)
        {
            var checkedProof = await CheckAsync(userId, proof, actor, stage, cancellationToken);
            return checkedProof.Error is not null ? checkedProof.Error : await start(checkedProof.Value!, claimLapsesAt);
        }

        return methods[target.Method!].SendsOnStart // (the target's method was checked: TargetProblem)
            ? pending.ClaimedAsync(userId, now, lapsesAt => CheckAndStartAsync(lapsesAt), cancellationToken)
            : CheckAndStartAsync(null);
    }

    /// <summary>Spends a checked proof in the change's transaction (<see cref="ProofCheck.SpendAsync"/>).</summary>
    public Task<Result<VerifyResponse>> SpendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CheckedProof proof, UserFactors? user,
        IReadOnlyList<DateTimeOffset> recentFailures, DateTimeOffset now, Guid? actor) =>
        proofs.SpendAsync(connection, transaction, proof, user, recentFailures, now, actor);
}
