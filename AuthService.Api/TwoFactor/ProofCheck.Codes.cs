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
    Func<NpgsqlConnection, NpgsqlTransaction, DateTimeOffset, Task<int?>> Consume)
{
    /// <summary>The factor a login answers as matched (<c>factorId</c>); none for a backup code, which proves the user, not a factor.</summary>
    public Guid? AnsweredFactorId => Method is FactorMethods.BackupCode or Core.BypassCodes.BypassCodeRules.Method ? null : FactorId;
}

/// <summary>A method's check of a proof, run under the user's lock: the gate first (nothing is checked when locked or limited),
/// then the secret; a refusal is written (<see cref="ProofCheck.RefuseAsync"/>) and returned.</summary>
public delegate Task<Result<CheckedProof>> ProofMethodCheck(NpgsqlConnection connection, NpgsqlTransaction transaction, UserFactors user,
    AttemptState state, DateTimeOffset now);

/// <summary>The single-user path of <see cref="ProofCheck"/>: every proof but a batched TOTP login — backup codes, phone codes,
/// passkey assertions (<c>PasskeyVerification</c> brings its own <see cref="ProofMethodCheck"/>), and every proof of a change.
/// A check holds the user's lock from reading the attempt state to recording the outcome; a spend is one conditional step.</summary>
public sealed partial class ProofCheck
{
    /// <summary>Checks a proof in a transaction of its own (the proof of a change): the refusal, or the unspent proof.</summary>
    public Task<Result<CheckedProof>> CheckInTransactionAsync(string userId, ProofMethodCheck check, CancellationToken cancellationToken) =>
        UnderLockAsync(userId, (c, t, user, recentFailures, now) => check(c, t, user, StateOf(user, recentFailures), now), cancellationToken);

    /// <summary>Checks a proof and spends it in the same transaction: a login.</summary>
    public Task<Result<VerifyResponse>> CheckAndSpendAsync(string userId, Guid? actor, ProofMethodCheck check, CancellationToken cancellationToken) =>
        UnderLockAsync(userId, async (c, t, user, recentFailures, now) =>
        {
            var checkedProof = await check(c, t, user, StateOf(user, recentFailures), now);
            return checkedProof.Error is { } refused ? refused : await SpendAsync(c, t, checkedProof.Value!, user, recentFailures, now, actor);
        }, cancellationToken);

    /// <summary>One transaction holding the user's lock, with the user's factors and the failures of the last minute read under it;
    /// commits whatever <paramref name="work"/> wrote (a refusal's rows, a phone code's spent attempt, a spent proof).</summary>
    private async Task<Result<T>> UnderLockAsync<T>(string userId,
        Func<NpgsqlConnection, NpgsqlTransaction, UserFactors, IReadOnlyList<DateTimeOffset>, DateTimeOffset, Task<Result<T>>> work,
        CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (user, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        if (user is null)
        {
            return Problems.NotEnabled;
        }

        var result = await work(connection, transaction, user, recentFailures, now);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Spends a checked proof in the caller's transaction, which holds the user's lock and read <paramref name="user"/>
    /// and <paramref name="recentFailures"/> under it. Refused, and nothing spent, when the factor the proof was checked against
    /// is no longer the user's (409 <c>factor_changed</c>) or the gate has closed meanwhile; a proof another request spent first is
    /// a failed (replayed) attempt. On a refusal the caller commits (the refusal's rows) and writes nothing of its change.</summary>
    public async Task<Result<VerifyResponse>> SpendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CheckedProof proof,
        UserFactors? user, IReadOnlyList<DateTimeOffset> recentFailures, DateTimeOffset now, Guid? actor)
    {
        if (user?.Find(proof.FactorId) is null)
        {
            return Problems.FactorChanged;
        }

        var state = StateOf(user, recentFailures);
        if (ProofDecisions.Gate(state, Limits, now) is { } closed)
        {
            return await RefuseAsync(connection, transaction, closed, user.UserId, hasFactor: true, proof.Method, proof.Stage, now, actor);
        }

        if (await proof.Consume(connection, transaction, now) is not { } remaining)
        {
            return await RefuseAsync(connection, transaction, ProofDecisions.AfterCheck(state, Limits, now, accepted: false, replayed: true),
                user.UserId, hasFactor: true, proof.Method, proof.Stage, now, actor);
        }

        ServiceMetrics.Verifications.WithLabels(proof.Method, "success").Inc();
        return new VerifyResponse(true, proof.Method, remaining, proof.DriftSteps, proof.AnsweredFactorId);
    }

    /// <summary>A code of one of the user's factors — checked only by the method that issued it: a TOTP code against each TOTP
    /// factor (each its own replay guard), a phone code of the stage's purpose sent for one of the user's phone factors — or a
    /// backup code. A code of <paramref name="excluded"/> does not count; a passkey-only user's code is never accepted.</summary>
    private async Task<Result<CheckedProof>> CheckCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserFactors user,
        AttemptState state, Proof proof, string stage, DateTimeOffset now, Guid? actor, Guid? excluded)
    {
        if (proof.BypassCode is { } bypassCode)
        {
            return await BypassCodeCheck.CheckAsync(this, _secrets, connection, transaction, user, state, bypassCode, stage, now, actor, excluded);
        }

        var userId = user.UserId;
        var eligible = user.Factors.Where(f => f.FactorId != excluded).ToList();
        var totp = eligible.Where(f => f.Method == FactorMethods.Totp).ToList();
        var phones = eligible.Where(f => f.Method == FactorMethods.Phone).Select(f => f.FactorId).ToArray();
        var method = proof.BackupCode is not null ? FactorMethods.BackupCode
            : totp.Count > 0 && phones.Length == 0 ? FactorMethods.Totp
            : phones.Length > 0 && totp.Count == 0 ? FactorMethods.Phone
            : user.Default.Method;
        if (ProofDecisions.Gate(state, Limits, now) is { } closed)
        {
            return await RefuseAsync(connection, transaction, closed, userId, hasFactor: true, method, stage, now, actor);
        }

        ProofDecision? failure = null;
        if (proof.BackupCode is { } backupCode)
        {
            var stored = await TwoFactorStore.GetUnusedBackupCodesAsync(connection, transaction, userId);
            var match = BackupCodeSet.FindMatch(backupCode, stored.Select(s => new BackupCodeHash(s.Salt, s.CodeHash, s.Iterations)).ToList());
            if (match >= 0 && eligible.Count > 0)
            {
                // Bound to a factor the change leaves in place, so a reset or replacement meanwhile refuses its spending.
                var id = stored[match].Id;
                return new CheckedProof(eligible[0].FactorId, method, stage, null, (c, t, at) => UseBackupCodeAsync(c, t, userId, id, stage, at, actor));
            }
        }
        else
        {
            if (totp.Count > 0)
            {
                ProofDecision decision;
                int matched;
                try
                {
                    (decision, matched) = ProofDecisions.TotpAny(state, Limits, now, Candidates(totp), proof.Code);
                }
                catch (Exception e) when (StoredFactors.IsUnreadable(e))
                {
                    var writes = new List<NpgsqlBatchCommand>();
                    var unreadable = Unreadable(userId, stage, now, actor, e, writes);
                    await AttemptLedger.ExecuteAsync(connection, transaction, writes);
                    return unreadable;
                }

                if (decision.IsAccepted)
                {
                    var factor = totp[matched];
                    return new CheckedProof(factor.FactorId, FactorMethods.Totp, stage, decision.DriftSteps,
                        (c, t, at) => AttemptLedger.TryAcceptTotpStepAsync(c, t, Acceptance(factor, decision, stage, at, actor)));
                }

                failure = decision;
            }

            var purpose = PurposeOf(stage);
            if (phones.Length > 0
                && await PhoneCodeCheck.TryMatchAsync(connection, transaction, _secrets, userId, purpose, phones, proof.Code, now) is { } code)
            {
                return new CheckedProof(code.FactorId, FactorMethods.Phone, stage, null,
                    (c, t, at) => UsePhoneCodeAsync(c, t, userId, purpose, code.Id, code.FactorId, stage, at, actor));
            }
        }

        return await RefuseAsync(connection, transaction, failure ?? ProofDecisions.AfterCheck(state, Limits, now, accepted: false), userId,
            hasFactor: true, method, stage, now, actor);
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
        Guid codeId, Guid factorId, string stage, DateTimeOffset now, Guid? actor)
    {
        if (!await Storage.PhoneCodeStore.ConsumeCodeAsync(connection, transaction, userId, purpose, codeId))
        {
            return null;
        }

        var remaining = await TwoFactorStore.RecordSuccessAsync(connection, transaction, userId, factorId, now);
        await AuditLog.AppendAsync(connection, transaction, userId,
            new AuditEvent.VerificationSucceeded(FactorMethods.Phone, stage, BackupCodesRemaining: remaining, FactorId: factorId), now, actor);
        return remaining;
    }

    /// <summary>The gate before a method checks a proof itself (a passkey): null when open, otherwise the refusal, written.</summary>
    internal async Task<Problem?> GateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, AttemptState state,
        DateTimeOffset now, Guid? actor) =>
        ProofDecisions.Gate(state, Limits, now) is { } refused
            ? await RefuseAsync(connection, transaction, refused, userId, hasFactor: true, FactorMethods.Passkey, "gate", now, actor)
            : null;
}
