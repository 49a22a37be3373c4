using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Observability;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using Microsoft.Extensions.Options;
using AuthService.Api.TwoFactor.Methods;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The outcome of a method's own check of a pending factor (a code, a passkey attestation): accepted with the TOTP
/// step to record and anything to store with the factor (<see cref="AlsoStore"/>: null when stored, else the refusal, and the
/// confirmation is rolled back), or refused with the reason to audit and the answer to show.</summary>
public sealed record PendingCheck(bool Accepted, long TotpStep = -1, string Reason = "invalid_code", Problem? Shown = null,
    Func<NpgsqlConnection, NpgsqlTransaction, Task<Problem?>>? AlsoStore = null)
{
    public static readonly PendingCheck Refused = new(false);
}

/// <summary>Confirms a pending enrollment, switch or addition, whatever the method, in one transaction under the user's lock:
/// the pending row of the right purpose, then the proof pipeline (<see cref="ProofCheck.CheckGatedAsync{T}"/>: the gate, the
/// method's check <see cref="Check"/>, the failure ledger on a refusal), and on success the completion — the factor enabled
/// with new backup codes, added, or replacing the old ones.</summary>
public sealed class PendingConfirmation(NpgsqlDataSource dataSource, ProofCheck proofs, FactorMethodRegistry methods, TimeProvider time,
    ILogger<PendingConfirmation> logger)
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

    /// <summary>Confirms the pending factor <paramref name="pendingId"/> (an addition, or the first factor when it was started
    /// without 2FA): the new factor, and the backup codes when it enabled 2FA.</summary>
    public async Task<Result<FactorConfirmResponse>> ConfirmAdditionAsync(string userId, Guid pendingId, string? method, Guid? actor, Check check,
        CancellationToken cancellationToken)
    {
        var result = await ConfirmAsync(userId, PendingPurposes.Add, method, actor, check, cancellationToken, pendingId);
        return result.Error is not null ? result.Error : new FactorConfirmResponse(result.Value!.Factor, result.Value.BackupCodes);
    }

    private sealed record Confirmed(string Method, IReadOnlyList<string>? BackupCodes, FactorView Factor);

    private async Task<Result<Confirmed>> ConfirmAsync(string userId, string purpose, string? method, Guid? actor, Check check,
        CancellationToken cancellationToken, Guid? pendingId = null)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (factor, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        var pending = pendingId is { } id
            ? await TwoFactorStore.GetPendingByIdAsync(connection, transaction, userId, id, now)
            : await TwoFactorStore.GetPendingAsync(connection, transaction, userId, now);
        if (pendingId is not null && pending?.Purpose is PendingPurposes.Add or PendingPurposes.Enroll)
        {
            purpose = pending.Purpose; // a factor added without 2FA is the first enrollment
        }
        else if (pending is null || pending.Purpose != purpose)
        {
            return pendingId is not null ? Problems.FactorNotFound : NothingPending(purpose, factor);
        }

        if (method is not null && pending.Method != method)
        {
            return Problems.Validation($"The pending {purpose} is for {pending.Method}: confirm it with a code.");
        }

        var subject = new ProofSubject(userId, HasFactor: factor is not null, pending.Method, purpose, ProofCheck.StateOf(factor, recentFailures), now, actor);
        var result = await proofs.CheckGatedAsync(connection, transaction, subject, async () =>
        {
            var found = await check(connection, transaction, pending, now);
            return found.Accepted ? found : MethodOutcome<PendingCheck>.Refuse(found.Reason, found.Shown);
        });
        if (result.Error is { } refused)
        {
            await transaction.CommitAsync(cancellationToken);
            return refused;
        }

        var checkedPending = result.Value!;

        if (!await TwoFactorStore.DeletePendingAsync(connection, transaction, pending))
        {
            // Gone since the read: housekeeping prunes expired rows without the user's lock. Answered as if it had not been
            // found (a user without 2FA was told two_factor_already_enabled).
            await transaction.RollbackAsync(cancellationToken);
            return pendingId is not null ? Problems.FactorNotFound : NothingPending(purpose, factor);
        }

        var completed = purpose switch
        {
            PendingPurposes.Enroll => await EnableAsync(connection, transaction, pending, checkedPending.TotpStep, now, actor),
            PendingPurposes.Add => await AddAsync(connection, transaction, pending, factor, checkedPending.TotpStep, now, actor),
            _ => await ReplaceAsync(connection, transaction, pending, factor, checkedPending.TotpStep, now, actor),
        };
        if (completed.Error is not null)
        {
            await transaction.RollbackAsync(cancellationToken);
            return completed;
        }

        if (checkedPending.AlsoStore is not null && await checkedPending.AlsoStore(connection, transaction) is { } notStored)
        {
            await transaction.RollbackAsync(cancellationToken);
            return notStored;
        }

        await transaction.CommitAsync(cancellationToken);
        // Logged once committed: the passkey's AlsoStore above can still refuse and roll the change back.
        logger.LogInformation(purpose switch
        {
            PendingPurposes.Enroll => "Enabled {Method} second factor for {UserId}",
            PendingPurposes.Add => "Added a {Method} factor for {UserId}",
            _ => "Switched to a {Method} factor for {UserId}",
        }, pending.Method, pending.UserId);
        ServiceMetrics.Verifications.WithLabels(pending.Method, "success").Inc();
        return completed;
    }

    private static Problem NothingPending(string purpose, UserFactors? factor) =>
        purpose == PendingPurposes.Switch ? Problems.NoPendingSwitch : factor is null ? Problems.NoPendingEnrollment : Problems.AlreadyEnabled;

    private async Task<Result<Confirmed>> EnableAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending, long step,
        DateTimeOffset now, Guid? actor)
    {
        if (!await TwoFactorStore.InsertFirstFactorAsync(connection, transaction, pending, step, now))
        {
            return Problems.AlreadyEnabled;
        }

        var codes = Core.BackupCodes.BackupCodeSet.Generate();
        await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, pending.UserId, codes.Select(Core.BackupCodes.BackupCodeSet.Hash).ToList(), now);
        await AuditLog.AppendAsync(connection, transaction, pending.UserId,
            new AuditEvent.EnrollmentConfirmed(pending.Method, pending.PhoneMasked, pending.Channel, codes.Count, pending.Id), now, actor);
        return new Confirmed(pending.Method, codes, NewFactor(pending, isDefault: true, now));
    }

    /// <summary>A factor as it is stored by a confirmation.</summary>
    private static FactorView NewFactor(PendingRow pending, bool isDefault, DateTimeOffset now) =>
        new(pending.Id, pending.Method, pending.Label ?? FactorLabels.Default(pending.Method, pending.PhoneMasked), pending.PhoneMasked,
            pending.Channel, now, null, isDefault);

    /// <summary>A further factor (DESIGN §9.2), while the user still has 2FA and fewer than the maximum of its method — counted
    /// under the user's lock, so two additions confirmed at once never pass it.</summary>
    private async Task<Result<Confirmed>> AddAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        UserFactors? user, long step, DateTimeOffset now, Guid? actor)
    {
        if (user is null)
        {
            return Problems.NotEnabled;
        }

        var max = methods[pending.Method].MaxPerUser;
        if (user.OfMethod(pending.Method).Count() >= max)
        {
            return Problems.FactorLimitReached(pending.Method, max);
        }

        await TwoFactorStore.InsertFactorAsync(connection, transaction, pending, step, isDefault: false, now);
        await AttemptLedger.ResetConsecutiveFailuresAsync(connection, transaction, pending.UserId, now); // its wrong codes counted
        var factor = NewFactor(pending, isDefault: false, now);
        await AuditLog.AppendAsync(connection, transaction, pending.UserId, new AuditEvent.FactorAdded(pending.Id, pending.Method, factor.Label), now, actor);
        return new Confirmed(pending.Method, null, factor);
    }

    private async Task<Result<Confirmed>> ReplaceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        UserFactors? user, long step, DateTimeOffset now, Guid? actor)
    {
        if (user is null)
        {
            return Problems.NotEnabled;
        }

        if (pending.FromFactorId is { } from && user.Find(from) is null)
        {
            return Problems.FactorChanged; // the factor this switch was proved with was replaced, removed or reset meanwhile
        }

        var before = user.Default;
        if (!await TwoFactorStore.ReplaceAllFactorsAsync(connection, transaction, pending, step, now))
        {
            return Problems.Locked;
        }

        // Every old factor goes (the confirmed one replaces them all, DESIGN §9.2): login and proof codes sent to old numbers,
        // old passkeys and their challenges, and the Idempotency-Keys answered for old factors die with them (a new passkey is
        // stored after this, by the check's AlsoStore).
        await PhoneCodeStore.DeleteFactorCodesAsync(connection, transaction, pending.UserId);
        await Passkeys.PasskeyStore.DeleteForUserAsync(connection, transaction, pending.UserId);
        await TwoFactorStore.DeleteIdempotencyKeysAsync(connection, transaction, pending.UserId);
        await AuditLog.AppendAsync(connection, transaction, pending.UserId,
            new AuditEvent.MethodSwitched(before.Method, pending.Method, pending.PhoneMasked, pending.Channel, pending.Id), now, actor);
        return new Confirmed(pending.Method, null, NewFactor(pending, isDefault: true, now));
    }
}
