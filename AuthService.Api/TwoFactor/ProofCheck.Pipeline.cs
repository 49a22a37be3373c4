using AuthService.Api.Events;
using AuthService.Api.Observability;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using AuthService.Api.TwoFactor.Methods;
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
    /// <summary>What a request answers when its spend finds the proof spent or overtaken since its check (a replay): the
    /// method's own refusal and the audited reason where it has them (a passkey's used challenge or overtaken counter, the same
    /// as when its check finds them), else <c>invalid_code</c> and <c>replayed</c>. Asked after <see cref="Consume"/>, which may
    /// say which.</summary>
    public Func<(Problem Shown, string Reason)>? SpentFirst { get; init; }

    /// <summary>For a backup or bypass code, which proves the user rather than a factor: the user's factors when it was checked.
    /// The spend needs one of them still the user's: removing some (the lost one) leaves the proof good, while a support reset
    /// and a new enrollment, or a confirmed switch, between the two leave none, and a proof from before may not change what
    /// came after.</summary>
    public IReadOnlyList<Guid> FactorsAtCheck { get; init; } = [];

    /// <summary>The factor a login answers as matched (<c>factorId</c>); none for a backup or bypass code, which proves the user, not a factor.</summary>
    public Guid? AnsweredFactorId => Method is FactorMethods.BackupCode or Core.BypassCodes.BypassCodeRules.Method ? null : FactorId;
}

/// <summary>A check of a proof, run under the user's lock with the user's factors and attempt state read under it; it goes
/// through <see cref="ProofCheck.CheckGatedAsync{T}"/> (gate → the method's check → refusal written) and returns the refusal or
/// the unspent proof.</summary>
public delegate Task<Result<CheckedProof>> ProofMethodCheck(NpgsqlConnection connection, NpgsqlTransaction transaction, UserFactors user,
    AttemptState state, DateTimeOffset now);

/// <summary>The proof pipeline, one for every method and stage: the user's lock (<see cref="CheckInTransactionAsync"/>,
/// <see cref="CheckAndSpendAsync"/>) → the gate → the method's check → the refusal written (<see cref="CheckGatedAsync{T}"/>) →
/// the spend in the transaction of what the proof authorises (<see cref="SpendAsync"/>). Codes (<see cref="CodeProofs"/>),
/// passkey assertions (<c>PasskeyVerification</c>) and pending confirmations (<see cref="PendingConfirmation"/>) all run
/// through it; a batched TOTP login makes the same decisions in one locked batch (<c>ProofCheck.cs</c>).</summary>
public sealed partial class ProofCheck
{
    /// <summary>Checks a proof in a transaction of its own (the proof of a change): the refusal, or the unspent proof.</summary>
    public Task<Result<CheckedProof>> CheckInTransactionAsync(string userId, ProofMethodCheck check, CancellationToken cancellationToken) =>
        UnderLockAsync(userId, (c, t, user, recentFailures, now) => check(c, t, user, StateOf(user, recentFailures), now), cancellationToken);

    /// <summary>Checks a proof and spends it in the same transaction: a login. What the login writes about its browser
    /// (<paramref name="device"/>: <c>new_device_login</c>, a device to remember) is written in that transaction too, after the spend.</summary>
    public Task<Result<VerifyResponse>> CheckAndSpendAsync(string userId, Guid? actor, ProofMethodCheck check, CancellationToken cancellationToken,
        LoginDevice? device = null) =>
        UnderLockAsync(userId, async (c, t, user, recentFailures, now) =>
        {
            var checkedProof = await check(c, t, user, StateOf(user, recentFailures), now);
            if (checkedProof.Error is { } refused)
            {
                return refused;
            }

            var login = await SpendAsync(c, t, checkedProof.Value!, user, recentFailures, now, actor);
            if (login.Value is { } accepted && device is not null)
            {
                if (device.IsNew)
                {
                    await AuditLog.AppendAsync(c, t, userId, device.NewLogin(accepted.Method, accepted.FactorId), now, actor);
                }

                if (device.Remember is { } remember)
                {
                    await DeviceStore.RememberAsync(c, t, userId, remember, now, actor);
                }
            }

            return login;
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
        // A factor's proof needs that factor still the user's; a backup or bypass code proves the user, so it needs one of the
        // factors the user had at the check (not a new set after a reset or a switch), whichever that is.
        if (user is null || (proof.AnsweredFactorId is { } factorId
                ? user.Find(factorId) is null
                : !proof.FactorsAtCheck.Any(id => user.Find(id) is not null)))
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
            // Audited as the check would have (its reason, the factor), whichever of the two found the refusal.
            var first = proof.SpentFirst?.Invoke();
            return await RefuseAsync(connection, transaction, ProofDecisions.AfterCheck(state, Limits, now, accepted: false, replayed: true),
                user.UserId, hasFactor: true, proof.Method, proof.Stage, now, actor, reason: first?.Reason, shown: first?.Shown,
                factorId: proof.AnsweredFactorId);
        }

        ServiceMetrics.Verifications.WithLabels(proof.Method, "success").Inc();
        return new VerifyResponse(true, proof.Method, remaining, proof.DriftSteps, proof.AnsweredFactorId);
    }

    /// <summary>The middle of every check: the gate (nothing is checked when the user is locked or limited), then the method's own
    /// check (<paramref name="check"/>), then its outcome — the accepted value returned, or the refusal written (the failure
    /// ledger, the consecutive count, the lock) and answered. A stored secret this instance cannot use fails this attempt alone
    /// (503 <c>secret_unavailable</c>, counted in the per-minute window). Login, confirmation, proofs and passkeys alike.</summary>
    internal async Task<Result<T>> CheckGatedAsync<T>(NpgsqlConnection connection, NpgsqlTransaction transaction, ProofSubject subject,
        Func<Task<MethodOutcome<T>>> check) where T : class
    {
        var (userId, hasFactor, method, stage, state, now, actor) = subject;
        if (ProofDecisions.Gate(state, Limits, now) is { } closed)
        {
            return await RefuseAsync(connection, transaction, closed, userId, hasFactor, method, stage, now, actor);
        }

        MethodOutcome<T> outcome;
        try
        {
            outcome = await check();
        }
        catch (Exception e) when (StoredFactors.IsUnreadable(e))
        {
            var writes = new List<NpgsqlBatchCommand>();
            var unreadable = Unreadable(userId, method, stage, now, actor, e, writes);
            await AttemptLedger.ExecuteAsync(connection, transaction, writes);
            return unreadable;
        }

        return outcome switch
        {
            { Answer: { } answer } => answer,
            { Accepted: { } accepted } => accepted,
            _ => await RefuseAsync(connection, transaction, outcome.Decision ?? ProofDecisions.AfterCheck(state, Limits, now, accepted: false),
                userId, hasFactor, method, stage, now, actor, outcome.Reason, outcome.Shown, outcome.FactorId),
        };
    }
}

/// <summary>Whose attempt a check is (for the gate and the failure rows): the user, whether they hold a factor (a failure then
/// counts towards the lock), the method and stage audited, the attempt state read under the user's lock, the time, the caller.</summary>
public sealed record ProofSubject(string UserId, bool HasFactor, string Method, string Stage, AttemptState State, DateTimeOffset Now, Guid? Actor);
