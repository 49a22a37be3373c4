using AuthService.Api.Http;
using AuthService.Api.TwoFactor.Passkeys;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The proof of a change (a switch, new backup codes), whatever its kind: a TOTP code, a phone code of a <c>proof</c>
/// challenge or a backup code (<see cref="CodeProofs"/>), or a passkey assertion of a <c>proof</c> challenge
/// (<see cref="PasskeyVerification"/>). Checked under the user's lock, not spent: the change spends it
/// (<see cref="ProofCheck.SpendAsync"/>).</summary>
public sealed class ChangeProofs(CodeProofs codes, ProofCheck proofs, PasskeyVerification passkeys)
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

    /// <summary>Spends a checked proof in the change's transaction (<see cref="ProofCheck.SpendAsync"/>).</summary>
    public Task<Result<VerifyResponse>> SpendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CheckedProof proof, UserFactors? user,
        IReadOnlyList<DateTimeOffset> recentFailures, DateTimeOffset now, Guid? actor) =>
        proofs.SpendAsync(connection, transaction, proof, user, recentFailures, now, actor);
}
