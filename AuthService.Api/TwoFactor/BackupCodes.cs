using AuthService.Api.Events;
using AuthService.Core.Factors;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.BackupCodes;
using AuthService.Core.Policy;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Backup codes: how many are left, and a new set of 10 in exchange for a proof (shown once; every older code dies).</summary>
public sealed class BackupCodes(NpgsqlDataSource dataSource, ChangeProofs changeProofs, ProofCheck proofs, TimeProvider time)
{
    public const string Stage = ProofStages.Regeneration;

    public async Task<int> RemainingAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await TwoFactorStore.CountUnusedBackupCodesAsync(connection, null, userId);
    }

    /// <summary>A new set, stored in the transaction that spends the proof (a code, a backup code or a passkey assertion of a
    /// <c>proof</c> challenge): both happen, or neither.</summary>
    public async Task<Result<BackupCodesResponse>> RegenerateAsync(string userId, Proof? proof, Guid? actor, CancellationToken cancellationToken)
    {
        var checkedProof = await changeProofs.CheckAsync(userId, proof, actor, Stage, cancellationToken);
        if (checkedProof.Error is not null)
        {
            return checkedProof.Error;
        }

        var codes = BackupCodeSet.Generate();
        var hashes = codes.Select(BackupCodeSet.Hash).ToList();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (factor, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        var spent = await proofs.SpendAsync(connection, transaction, checkedProof.Value!, factor, recentFailures, now, actor);
        if (spent.Error is null)
        {
            await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, userId, hashes, now);
            // New codes are how a person cleans up after a leaked sheet: what one of its codes started goes with it.
            var voided = await PendingFactors.VoidStartedWithAsync(connection, transaction, userId, FactorMethods.BackupCode);
            await AuditLog.AppendAsync(connection, transaction, userId,
                new AuditEvent.BackupCodesRegenerated(codes.Count, voided > 0 ? voided : null), now, actor);
        }

        await transaction.CommitAsync(cancellationToken);
        return spent.Error is not null ? spent.Error : new BackupCodesResponse(codes, codes.Count);
    }
}
