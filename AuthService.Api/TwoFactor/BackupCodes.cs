using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.BackupCodes;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Backup codes: how many are left, and a new set of 10 in exchange for a proof (shown once; every older code dies).</summary>
public sealed class BackupCodes(NpgsqlDataSource dataSource, ProofCheck proofs)
{
    public const string Stage = "backup_codes";

    public async Task<int> RemainingAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await TwoFactorStore.CountUnusedBackupCodesAsync(connection, null, userId);
    }

    public Task<Result<BackupCodesResponse>> RegenerateAsync(string userId, Proof? proof, Guid? actor, CancellationToken cancellationToken) =>
        RegenerateAsync(userId, actor, alsoOnSuccess => proofs.ConsumeAsync(userId, proof, actor, Stage, cancellationToken, alsoOnSuccess));

    /// <summary>A new set, stored in the transaction that consumes the proof (<paramref name="consumeProof"/>: a code here, a
    /// passkey assertion in <c>PasskeyVerification</c>).</summary>
    public static async Task<Result<BackupCodesResponse>> RegenerateAsync(string userId, Guid? actor,
        Func<Func<NpgsqlConnection, NpgsqlTransaction, DateTimeOffset, Task>, Task<Result<VerifyResponse>>> consumeProof)
    {
        var codes = BackupCodeSet.Generate();
        var hashes = codes.Select(BackupCodeSet.Hash).ToList();
        var proof = await consumeProof(async (connection, transaction, now) =>
        {
            await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, userId, hashes, now);
            await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.BackupCodesRegenerated, now, actor, new { backupCodes = codes.Count });
        });
        return proof.Error is not null ? proof.Error : new BackupCodesResponse(codes, codes.Count);
    }
}
