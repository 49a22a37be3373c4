using AuthService.Api.Events;
using AuthService.Api.Observability;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.BackupCodes;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>A proof that was checked under the user's lock and found right, but not yet spent. It is bound to the factor it was
/// checked against (<see cref="FactorId"/>) and to its stage's purpose; <see cref="ProofCheck.SpendAsync"/> spends it in the
/// transaction of what it authorises — a login's answer, or a change — so a refused change leaves it unspent (DESIGN §9.1).
/// <see cref="Consume"/> is the method's conditional single-use step and its audit event: the backup codes left, or null when
/// another request spent it first.</summary>
public sealed record CheckedProof(Guid FactorId, string Method, string Stage, int? DriftSteps,
    Func<NpgsqlConnection, NpgsqlTransaction, DateTimeOffset, Task<int?>> Consume);

/// <summary>A method's check of a proof, run under the user's lock: the gate first (nothing is checked when locked or limited),
/// then the secret; a refusal is written (<see cref="ProofCheck.RefuseAsync"/>) and returned.</summary>
public delegate Task<Result<CheckedProof>> ProofMethodCheck(NpgsqlConnection connection, NpgsqlTransaction transaction, FactorRow factor,
    AttemptState state, DateTimeOffset now);

/// <summary>The single-user path of <see cref="ProofCheck"/>: every proof but a batched TOTP login — backup codes, phone codes,
/// passkey assertions (<c>PasskeyVerification</c> brings its own <see cref="ProofMethodCheck"/>), and every proof of a change.
/// A check holds the user's lock from reading the attempt state to recording the outcome; a spend is one conditional step.</summary>
public sealed partial class ProofCheck
{
    /// <summary>Checks a proof in a transaction of its own (the proof of a change): the refusal, or the unspent proof.</summary>
    public Task<Result<CheckedProof>> CheckInTransactionAsync(string userId, ProofMethodCheck check, CancellationToken cancellationToken) =>
        UnderLockAsync(userId, (c, t, factor, recentFailures, now) => check(c, t, factor, StateOf(factor, recentFailures), now), cancellationToken);

    /// <summary>Checks a proof and spends it in the same transaction: a login.</summary>
    public Task<Result<VerifyResponse>> CheckAndSpendAsync(string userId, Guid? actor, ProofMethodCheck check, CancellationToken cancellationToken) =>
        UnderLockAsync(userId, async (c, t, factor, recentFailures, now) =>
        {
            var checkedProof = await check(c, t, factor, StateOf(factor, recentFailures), now);
            return checkedProof.Error is { } refused ? refused : await SpendAsync(c, t, checkedProof.Value!, factor, recentFailures, now, actor);
        }, cancellationToken);

    /// <summary>One transaction holding the user's lock, with the factor and the failures of the last minute read under it;
    /// commits whatever <paramref name="work"/> wrote (a refusal's rows, a phone code's spent attempt, a spent proof).</summary>
    private async Task<Result<T>> UnderLockAsync<T>(string userId,
        Func<NpgsqlConnection, NpgsqlTransaction, FactorRow, IReadOnlyList<DateTimeOffset>, DateTimeOffset, Task<Result<T>>> work,
        CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (factor, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        if (factor is null)
        {
            return Problems.NotEnabled;
        }

        var result = await work(connection, transaction, factor, recentFailures, now);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Spends a checked proof in the caller's transaction, which holds the user's lock and read <paramref name="factor"/>
    /// and <paramref name="recentFailures"/> under it. Refused, and nothing spent, when the factor is no longer the one the proof
    /// was checked against (409 <c>factor_changed</c>) or the gate has closed meanwhile; a proof another request spent first is
    /// a failed (replayed) attempt. On a refusal the caller commits (the refusal's rows) and writes nothing of its change.</summary>
    public async Task<Result<VerifyResponse>> SpendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CheckedProof proof,
        FactorRow? factor, IReadOnlyList<DateTimeOffset> recentFailures, DateTimeOffset now, Guid? actor)
    {
        if (factor is null || factor.FactorId != proof.FactorId)
        {
            return Problems.FactorChanged;
        }

        var state = StateOf(factor, recentFailures);
        if (ProofDecisions.Gate(state, Limits, now) is { } closed)
        {
            return await RefuseAsync(connection, transaction, closed, factor.UserId, hasFactor: true, proof.Method, proof.Stage, now, actor);
        }

        if (await proof.Consume(connection, transaction, now) is not { } remaining)
        {
            return await RefuseAsync(connection, transaction, ProofDecisions.AfterCheck(state, Limits, now, accepted: false, replayed: true),
                factor.UserId, hasFactor: true, proof.Method, proof.Stage, now, actor);
        }

        ServiceMetrics.Verifications.WithLabels(proof.Method, "success").Inc();
        return new VerifyResponse(true, proof.Method, remaining, proof.DriftSteps);
    }

    /// <summary>A code of the user's factor — checked only by the method that issued it: a TOTP code against a TOTP factor, a
    /// phone code of the stage's purpose sent for this very phone factor — or a backup code. A passkey user's code is never
    /// accepted.</summary>
    private async Task<Result<CheckedProof>> CheckCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, FactorRow factor,
        AttemptState state, Proof proof, string stage, DateTimeOffset now, Guid? actor)
    {
        var userId = factor.UserId;
        var method = proof.BackupCode is not null ? FactorMethods.BackupCode : factor.Method;
        if (ProofDecisions.Gate(state, Limits, now) is { } closed)
        {
            return await RefuseAsync(connection, transaction, closed, userId, hasFactor: true, method, stage, now, actor);
        }

        if (proof.BackupCode is { } backupCode)
        {
            var stored = await TwoFactorStore.GetUnusedBackupCodesAsync(connection, transaction, userId);
            var match = BackupCodeSet.FindMatch(backupCode, stored.Select(s => new BackupCodeHash(s.Salt, s.CodeHash, s.Iterations)).ToList());
            if (match >= 0)
            {
                var id = stored[match].Id;
                return new CheckedProof(factor.FactorId, method, stage, null, (c, t, at) => UseBackupCodeAsync(c, t, userId, id, stage, at, actor));
            }
        }
        else if (factor.Method == FactorMethods.Totp)
        {
            ProofDecision decision;
            try
            {
                decision = ProofDecisions.Totp(state, Limits, now, () => _secrets.OpenTotpSecret(factor), factor.Profile, proof.Code, factor.LastTotpStep);
            }
            catch (Exception e) when (StoredFactors.IsUnreadable(e))
            {
                var writes = new List<NpgsqlBatchCommand>();
                var unreadable = Unreadable(userId, stage, now, actor, e, writes);
                await AttemptLedger.ExecuteAsync(connection, transaction, writes);
                return unreadable;
            }

            return decision.IsAccepted
                ? new CheckedProof(factor.FactorId, method, stage, decision.DriftSteps,
                    (c, t, at) => AttemptLedger.TryAcceptTotpStepAsync(c, t, Acceptance(factor, decision, stage, at, actor)))
                : await RefuseAsync(connection, transaction, decision, userId, hasFactor: true, method, stage, now, actor);
        }
        else if (factor.Method == FactorMethods.Phone)
        {
            var purpose = PurposeOf(stage);
            if (await PhoneCodeCheck.TryMatchAsync(connection, transaction, _secrets, userId, purpose, factor.FactorId, proof.Code, now) is { } codeId)
            {
                return new CheckedProof(factor.FactorId, method, stage, null, (c, t, at) => UsePhoneCodeAsync(c, t, userId, purpose, codeId, stage, at, actor));
            }
        }

        return await RefuseAsync(connection, transaction, ProofDecisions.AfterCheck(state, Limits, now, accepted: false), userId, hasFactor: true, method,
            stage, now, actor);
    }

    private static async Task<int?> UseBackupCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, long codeId,
        string stage, DateTimeOffset now, Guid? actor)
    {
        var remaining = await TwoFactorStore.TryUseBackupCodeAsync(connection, transaction, userId, codeId, now);
        if (remaining is not null)
        {
            await AuditLog.AppendAsync(connection, transaction, userId,
                new AuditEvent.BackupCodeUsed(FactorMethods.BackupCode, stage, remaining.Value), now, actor);
        }

        return remaining;
    }

    private static async Task<int?> UsePhoneCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose,
        Guid codeId, string stage, DateTimeOffset now, Guid? actor)
    {
        if (!await Storage.PhoneCodeStore.ConsumeCodeAsync(connection, transaction, userId, purpose, codeId))
        {
            return null;
        }

        var remaining = await TwoFactorStore.ResetFailuresAsync(connection, transaction, userId, now);
        await AuditLog.AppendAsync(connection, transaction, userId,
            new AuditEvent.VerificationSucceeded(FactorMethods.Phone, stage, BackupCodesRemaining: remaining), now, actor);
        return remaining;
    }

    /// <summary>The gate before a method checks a proof itself (a passkey): null when open, otherwise the refusal, written.</summary>
    internal async Task<Problem?> GateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, AttemptState state,
        DateTimeOffset now, Guid? actor) =>
        ProofDecisions.Gate(state, Limits, now) is { } refused
            ? await RefuseAsync(connection, transaction, refused, userId, hasFactor: true, FactorMethods.Passkey, "gate", now, actor)
            : null;
}
