using AuthService.Api.Events;
using AuthService.Api.Observability;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The outcome of a method's own check of a pending factor (a code, a passkey attestation): accepted with the TOTP
/// step to record and anything to store with the factor, or refused with the reason to audit and the answer to show.</summary>
public sealed record PendingCheck(bool Accepted, long TotpStep = -1, string Reason = "invalid_code", Problem? Shown = null,
    Func<NpgsqlConnection, NpgsqlTransaction, Task>? AlsoStore = null)
{
    public static readonly PendingCheck Refused = new(false);
}

/// <summary>Confirms a pending enrollment or switch, whatever the method, in one transaction under the user's lock: the
/// pending row of the right purpose, the attempt gate, the method's check (<see cref="Check"/>), the failure ledger on a
/// refusal (<see cref="ProofCheck.RefuseAsync"/>), and on success the completion — the factor enabled with new backup codes,
/// or the old factor replaced.</summary>
public sealed class PendingConfirmation(NpgsqlDataSource dataSource, ProofCheck proofs, TimeProvider time, ILogger<PendingConfirmation> logger)
{
    public delegate Task<PendingCheck> Check(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending, DateTimeOffset now);

    /// <param name="method">Null: any pending method (a code of the wrong kind is simply wrong); a passkey confirmation
    /// names its method and refuses another with 400.</param>
    public async Task<Result<ConfirmResponse>> ConfirmEnrollmentAsync(string userId, string? method, Guid? actor, Check check,
        CancellationToken cancellationToken)
    {
        var result = await ConfirmAsync(userId, PendingPurposes.Enroll, method, actor, check, cancellationToken);
        return result.Error is not null ? result.Error : new ConfirmResponse(true, result.Value!.Method, result.Value.BackupCodes!);
    }

    public async Task<Result<SwitchConfirmResponse>> ConfirmSwitchAsync(string userId, string? method, Guid? actor, Check check,
        CancellationToken cancellationToken)
    {
        var result = await ConfirmAsync(userId, PendingPurposes.Switch, method, actor, check, cancellationToken);
        return result.Error is not null ? result.Error : new SwitchConfirmResponse(true, result.Value!.Method);
    }

    private sealed record Confirmed(string Method, IReadOnlyList<string>? BackupCodes);

    private async Task<Result<Confirmed>> ConfirmAsync(string userId, string purpose, string? method, Guid? actor, Check check,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (factor, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        var pending = await TwoFactorStore.GetPendingAsync(connection, transaction, userId, now);
        if (pending is null || pending.Purpose != purpose)
        {
            return NothingPending(purpose, factor);
        }

        if (method is not null && pending.Method != method)
        {
            return Problems.Validation($"The pending {purpose} is for {pending.Method}: confirm it with a code.");
        }

        var state = ProofCheck.StateOf(factor, recentFailures);
        var decision = ProofDecisions.Gate(state, proofs.Limits, now);
        var checkedPending = decision is null ? await check(connection, transaction, pending, now) : PendingCheck.Refused;
        decision ??= ProofDecisions.AfterCheck(state, proofs.Limits, now, checkedPending.Accepted);
        if (!decision.Value.IsAccepted)
        {
            var refused = await proofs.RefuseAsync(connection, transaction, decision.Value, userId, factor is not null, pending.Method, purpose, now,
                actor, checkedPending.Reason, checkedPending.Shown);
            await transaction.CommitAsync(cancellationToken);
            return refused;
        }

        if (!await TwoFactorStore.DeletePendingAsync(connection, transaction, pending))
        {
            await transaction.RollbackAsync(cancellationToken);
            return purpose == PendingPurposes.Switch ? Problems.NoPendingSwitch : Problems.AlreadyEnabled;
        }

        var completed = purpose == PendingPurposes.Enroll
            ? await EnableAsync(connection, transaction, pending, checkedPending.TotpStep, now, actor)
            : await ReplaceAsync(connection, transaction, pending, factor, checkedPending.TotpStep, now, actor);
        if (completed.Error is not null)
        {
            await transaction.RollbackAsync(cancellationToken);
            return completed;
        }

        if (checkedPending.AlsoStore is not null)
        {
            await checkedPending.AlsoStore(connection, transaction);
        }

        await transaction.CommitAsync(cancellationToken);
        ServiceMetrics.Verifications.WithLabels(pending.Method, "success").Inc();
        return completed;
    }

    private static Problem NothingPending(string purpose, FactorRow? factor) =>
        purpose == PendingPurposes.Switch ? Problems.NoPendingSwitch : factor is null ? Problems.NoPendingEnrollment : Problems.AlreadyEnabled;

    private async Task<Result<Confirmed>> EnableAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending, long step,
        DateTimeOffset now, Guid? actor)
    {
        if (!await TwoFactorStore.InsertFactorAsync(connection, transaction, pending, step, now))
        {
            return Problems.AlreadyEnabled;
        }

        var codes = Core.BackupCodes.BackupCodeSet.Generate();
        await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, pending.UserId, codes.Select(Core.BackupCodes.BackupCodeSet.Hash).ToList(), now);
        await AuditLog.AppendAsync(connection, transaction, pending.UserId,
            new AuditEvent.EnrollmentConfirmed(pending.Method, pending.PhoneMasked, pending.Channel, codes.Count), now, actor);
        logger.LogInformation("Enabled {Method} second factor for {UserId}", pending.Method, pending.UserId);
        return new Confirmed(pending.Method, codes);
    }

    private async Task<Result<Confirmed>> ReplaceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        FactorRow? before, long step, DateTimeOffset now, Guid? actor)
    {
        if (before is null)
        {
            return Problems.NotEnabled;
        }

        if (before.FactorId != pending.FromFactorId)
        {
            return Problems.FactorChanged; // the factor this switch was proved with was replaced or reset meanwhile
        }

        if (!await TwoFactorStore.ReplaceFactorAsync(connection, transaction, pending, step, now))
        {
            return Problems.Locked;
        }

        // Login and proof codes sent to the old number, the passkeys of an old passkey factor and their challenges, and the
        // Idempotency-Keys answered for the old factor die with it (a new passkey is stored after this, by the check's AlsoStore).
        await PhoneCodeStore.DeleteFactorCodesAsync(connection, transaction, pending.UserId);
        await Passkeys.PasskeyStore.DeleteForUserAsync(connection, transaction, pending.UserId);
        await TwoFactorStore.DeleteIdempotencyKeysAsync(connection, transaction, pending.UserId);
        await AuditLog.AppendAsync(connection, transaction, pending.UserId,
            new AuditEvent.MethodSwitched(before.Method, pending.Method, pending.PhoneMasked, pending.Channel), now, actor);
        logger.LogInformation("Switched {UserId} from {From} to {To}", pending.UserId, before.Method, pending.Method);
        return new Confirmed(pending.Method, null);
    }
}
