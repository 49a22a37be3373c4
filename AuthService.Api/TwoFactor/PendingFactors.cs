using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using AuthService.Core.Totp;
using Microsoft.Extensions.Options;
using AuthService.Api.TwoFactor.Methods;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Stores a pending factor — an enrollment, a switch or an addition (<see cref="PendingPurposes"/>) — that its method
/// (<see cref="IFactorMethod.StartAsync"/>) built: under the user's lock, spending a switch's or an addition's checked proof in
/// the same transaction. What is the same for every method; the method brings its columns and what it sends.</summary>
public sealed partial class PendingFactors(NpgsqlDataSource dataSource, ProofCheck proofs, ILogger<PendingFactors> logger)
{
    /// <summary>A new pending row of <paramref name="method"/> for <paramref name="start"/>, valid for <paramref name="ttl"/>: the
    /// method adds its own columns (a sealed secret, a number).</summary>
    public static PendingRow New(FactorStart start, string method, TimeSpan ttl) => new()
    {
        UserId = start.UserId,
        Id = Version7Ids.New(start.Now),
        Purpose = start.Purpose,
        Method = method,
        CreatedAt = start.Now.UtcDateTime,
        ExpiresAt = (start.Now + ttl).UtcDateTime,
        // A switch proved with a factor dies with that factor (migration 0019); one proved with a backup or bypass code proves
        // the user, not a factor, and is bound to none (the person who lost the default factor's device can remove it meanwhile).
        FromFactorId = start.Purpose == PendingPurposes.Switch ? start.Proof?.AnsweredFactorId : null,
        Label = start.Label,
        ProofMethod = start.Purpose == PendingPurposes.Enroll ? null : start.Proof?.Method,
    };

    /// <summary>Voids the user's switches and additions that a proof of <paramref name="proofMethod"/> started (a backup code when
    /// the codes are regenerated, a bypass code when they are revoked), with the code sent for them and their passkey
    /// registration challenge: a leaked code's holder can no longer confirm what it started. Under the user's lock. The
    /// number of changes voided.</summary>
    public static async Task<int> VoidStartedWithAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId,
        string proofMethod)
    {
        var voided = await TwoFactorStore.DeletePendingStartedWithAsync(connection, transaction, userId, proofMethod);
        if (voided > 0)
        {
            await PhoneCodeStore.DeleteOrphanedPendingCodesAsync(connection, transaction, userId);
            await Passkeys.PasskeyStore.DeleteOrphanedRegistrationsAsync(connection, transaction, userId);
        }

        return voided;
    }

    /// <summary>Stores <paramref name="pending"/> if the user is still where the request found them, in the caller's transaction
    /// that holds the user's lock and read <paramref name="user"/> under it: an enrollment only while the user has no factor;
    /// a switch or an addition only while the factor its proof was checked against is still the user's, spending the proof in
    /// the same step (DESIGN §9.1). Null when stored, else the refusal (only its own rows written).</summary>
    public async Task<Problem?> StoreAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending, CheckedProof? proof,
        UserFactors? user, IReadOnlyList<DateTimeOffset> recentFailures, DateTimeOffset now, Guid? actor)
    {
        if (pending.Purpose == PendingPurposes.Enroll)
        {
            if (user is not null)
            {
                return Problems.AlreadyEnabled;
            }
        }
        else if (proof is null)
        {
            return Problems.NotEnabled; // (an addition without a proof is an enrollment: only while 2FA is off)
        }

        if (pending.Purpose != PendingPurposes.Add && await TwoFactorStore.NewerPendingExistsAsync(connection, transaction, pending))
        {
            // A newer enrollment or switch stands (the upsert below would keep it). This one stores nothing, so it answers so
            // (its secret, code or passkey challenge would confirm nothing) and spends no proof.
            return Problems.PendingOvertaken;
        }

        if (proof is not null && pending.Purpose != PendingPurposes.Enroll
            && (await proofs.SpendAsync(connection, transaction, proof, user, recentFailures, now, actor)).Error is { } refused)
        {
            return refused;
        }

        await TwoFactorStore.UpsertPendingAsync(connection, transaction, pending);
        // What was issued for an enrollment or a switch this one replaced confirms nothing now; what was issued for a pending
        // row that stays (a switch to a phone while a TOTP app is added) stays, for that row. (A code is kept one per user and
        // purpose, a registration challenge one per user: a later phone or passkey start replaces them; docs/ARCHITECTURE.md.)
        await PhoneCodeStore.DeleteOrphanedPendingCodesAsync(connection, transaction, pending.UserId);
        await Passkeys.PasskeyStore.DeleteOrphanedRegistrationsAsync(connection, transaction, pending.UserId);

        await AuditLog.AppendAsync(connection, transaction, pending.UserId, pending.Purpose == PendingPurposes.Switch
            ? new AuditEvent.MethodSwitchStarted(pending.Method, pending.PhoneMasked, pending.Channel, pending.Id)
            : new AuditEvent.EnrollmentStarted(pending.Method, pending.PhoneMasked, pending.Channel, pending.Id), now, actor);
        return null;
    }

    /// <summary>How long a claim of <see cref="ClaimedAsync{T}"/> lives if its request never gives it back (its instance died):
    /// the longest a start may take, a number lookup and a send within an Idempotency-Key's lease.</summary>
    public static readonly TimeSpan ClaimLapse = IdempotencyStore.Lease;

    /// <summary>Runs <paramref name="start"/> — a change proved by a code that sends a code before it spends the proof — under the
    /// user's one claim for such a change (<see cref="ChangeClaimStore"/>), given back when it ends; while another holds it,
    /// nothing runs and the answer is 409 <c>change_in_progress</c>. The proof is spent only once the sent code is stored, so
    /// without the claim several requests at once with one proof each sent a text, to as many numbers. <paramref name="start"/>
    /// is given the time the claim lapses: it starts no send that could outlast it (<see cref="IdempotentRequests.MaySendBy"/>),
    /// or a request stalled that long could send while another, having taken the lapsed claim over, sends too.</summary>
    public async Task<Result<T>> ClaimedAsync<T>(string userId, DateTimeOffset now, Func<DateTimeOffset, Task<Result<T>>> start,
        CancellationToken cancellationToken)
    {
        var claim = Guid.NewGuid();
        var lapsesAt = now + ClaimLapse;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            if (!await ChangeClaimStore.TryClaimAsync(connection, userId, claim, now, lapsesAt))
            {
                return Problems.ChangeInProgress;
            }
        }

        try
        {
            return await start(lapsesAt);
        }
        finally
        {
            await ReleaseQuietlyAsync(userId, claim);
        }
    }

    /// <summary>Gives a claim back. When the database is what fails, the claim lapses on its own within <see cref="ClaimLapse"/>,
    /// and the request's own outcome stands: a change that was stored (its text sent, its proof spent) is not answered 503,
    /// which would tell the client to retry what cannot be retried, and a failure is not hidden behind the release's.</summary>
    private async Task ReleaseQuietlyAsync(string userId, Guid claim)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
            await ChangeClaimStore.ReleaseAsync(connection, userId, claim);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            LogClaimNotReleased(logger, userId, ClaimLapse, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give back the change claim of {UserId}; it lapses within {Lapse}: {Reason}")]
    private static partial void LogClaimNotReleased(ILogger logger, string userId, TimeSpan lapse, string reason);

    /// <summary><see cref="StoreAsync"/> in a transaction of its own under the user's lock, with <paramref name="alsoStore"/>
    /// (a passkey's registration challenge) after it; the refusal, or null when stored.</summary>
    public async Task<Problem?> StoreAsync(PendingRow pending, CheckedProof? proof, DateTimeOffset now, Guid? actor,
        CancellationToken cancellationToken, Func<NpgsqlConnection, NpgsqlTransaction, Task>? alsoStore = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (user, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, pending.UserId, now - AttemptLimits.Window);
        var refused = await StoreAsync(connection, transaction, pending, proof, user, recentFailures, now, actor);
        if (refused is null && alsoStore is not null)
        {
            await alsoStore(connection, transaction);
        }

        await transaction.CommitAsync(cancellationToken);
        return refused;
    }
}
