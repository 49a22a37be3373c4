using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.BackupCodes;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Policy;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The single-user path of <see cref="ProofCheck"/>: backup codes, phone codes, and TOTP proofs that carry extra work
/// in their transaction. One transaction holds the user's lock from reading the attempt state to committing the outcome.</summary>
public sealed partial class ProofCheck
{
    private async Task<Result<VerifyResponse>> ConsumeUnderLockAsync(string userId, Proof proof, Guid? actor, string stage, DateTimeOffset now,
        Func<NpgsqlConnection, NpgsqlTransaction, DateTimeOffset, Task>? alsoOnSuccess, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (factor, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        if (factor is null)
        {
            return Problems.NotEnabled;
        }

        var state = StateOf(factor, recentFailures);
        var method = proof.BackupCode is not null ? FactorMethods.BackupCode : factor.Method;
        var decision = ProofDecisions.Gate(state, Limits, now);
        VerifyResponse? success = null;
        if (decision is null && proof.BackupCode is { } backupCode)
        {
            var remaining = await TryBackupCodeAsync(connection, transaction, userId, backupCode, now);
            decision = ProofDecisions.AfterCheck(state, Limits, now, remaining is not null);
            success = remaining is { } left ? new VerifyResponse(true, FactorMethods.BackupCode, left, null) : null;
        }
        else if (decision is null && factor.Method == FactorMethods.Totp)
        {
            decision = ProofDecisions.Totp(state, Limits, now, () => _secrets.OpenTotpSecret(factor), factor.Profile(), proof.Code, factor.LastTotpStep);
            if (decision.Value.IsAccepted)
            {
                var left = await AttemptLedger.TryAcceptTotpStepAsync(connection, transaction, Acceptance(factor, decision.Value, stage, now, actor));
                success = left is { } l ? new VerifyResponse(true, FactorMethods.Totp, l, decision.Value.DriftSteps) : null;
                // Refused by the statement although decided under the lock: the step was taken meanwhile — a replay.
                decision = success is not null ? decision : ProofDecisions.AfterCheck(state, Limits, now, accepted: false, replayed: true);
            }
        }
        else if (decision is null)
        {
            var matched = await PhoneCodeCheck.TryConsumeAsync(connection, transaction, _secrets, userId, PhoneCodes.LoginPurpose, proof.Code, now);
            decision = ProofDecisions.AfterCheck(state, Limits, now, matched);
            success = matched
                ? new VerifyResponse(true, FactorMethods.Phone, await TwoFactorStore.ResetFailuresAsync(connection, transaction, userId, now), null)
                : null;
        }

        if (success is null)
        {
            var refused = await RefuseAsync(connection, transaction, decision!.Value, userId, hasFactor: true, method, stage, now, actor);
            await transaction.CommitAsync(cancellationToken);
            return refused;
        }

        if (method != FactorMethods.Totp)
        {
            // (a TOTP acceptance is audited by its own statement)
            await AuditLog.AppendAsync(connection, transaction, userId,
                method == FactorMethods.BackupCode ? AuditEvents.BackupCodeUsed : AuditEvents.VerificationSucceeded, now, actor,
                new { method, stage, backupCodesRemaining = success.BackupCodesRemaining });
        }

        if (alsoOnSuccess is not null)
        {
            await alsoOnSuccess(connection, transaction, now);
        }

        await transaction.CommitAsync(cancellationToken);
        ServiceMetrics.Verifications.WithLabels(method, "success").Inc();
        return success;
    }

    /// <summary>Finds the backup code among the unused ones (PBKDF2, constant-time) and uses it; the count left, or null.</summary>
    private static async Task<int?> TryBackupCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string input,
        DateTimeOffset now)
    {
        var stored = await TwoFactorStore.GetUnusedBackupCodesAsync(connection, transaction, userId);
        var match = BackupCodeSet.FindMatch(input, stored.Select(s => new BackupCodeHash(s.Salt, s.CodeHash, s.Iterations)).ToList());
        return match < 0 ? null : await TwoFactorStore.TryUseBackupCodeAsync(connection, transaction, userId, stored[match].Id, now);
    }

    /// <summary>The gate before a method checks a proof itself (a passkey): null when open, otherwise the refusal, written.</summary>
    internal async Task<Problem?> GateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, AttemptState state,
        DateTimeOffset now, Guid? actor) =>
        ProofDecisions.Gate(state, Limits, now) is { } refused
            ? await RefuseAsync(connection, transaction, refused, userId, hasFactor: true, FactorMethods.Passkey, "gate", now, actor)
            : null;
}
