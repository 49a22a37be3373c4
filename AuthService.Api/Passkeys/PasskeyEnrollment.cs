using AuthService.Core.Policy;
using System.Security.Cryptography;
using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using AuthService.Core.BackupCodes;
using Npgsql;

namespace AuthService.Api.Passkeys;

/// <summary>Registers a passkey: an enrollment or a switch starts a pending factor with a registration challenge
/// (5 minutes, single use, bound to that pending row); the <c>RegistrationResponseJSON</c> confirms it. Confirmation
/// runs under the user's lock with the same attempt limit and failure ledger as a code confirmation.</summary>
public sealed class PasskeyEnrollment(
    NpgsqlDataSource dataSource,
    TwoFactorService twoFactor,
    PasskeyCeremonies ceremonies,
    TimeProvider time,
    ILogger<PasskeyEnrollment> logger)
{
    /// <summary>Starts a pending passkey enrollment (<see cref="TwoFactorService.Enroll"/>) or switch
    /// (<see cref="TwoFactorService.Switch"/>; its proof was consumed by the caller).</summary>
    public async Task<Result<PendingStarted>> StartAsync(string userId, string purpose, string? accountName, string? displayName, Guid? actor,
        CancellationToken ct)
    {
        if (!ceremonies.Enabled)
        {
            return PasskeyProblems.NotConfigured;
        }

        if (LabelProblem(accountName, displayName) is { } invalid)
        {
            return invalid;
        }

        var name = string.IsNullOrWhiteSpace(accountName) ? userId : accountName.Trim();
        var shown = string.IsNullOrWhiteSpace(displayName) ? name : displayName.Trim();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (purpose == TwoFactorService.Enroll && await TwoFactorStore.GetFactorAsync(connection, transaction, userId) is not null)
        {
            return Problems.AlreadyEnabled;
        }

        var existing = await PasskeyStore.GetCredentialsAsync(connection, transaction, userId);
        var (options, challenge, stored) = ceremonies.NewRegistration(RandomNumberGenerator.GetBytes(32), name, shown, existing);
        var expiresAt = now + PasskeyOptions.ChallengeLifetime;
        var pending = new PendingRow
        {
            UserId = userId,
            Id = Guid.CreateVersion7(now),
            Purpose = purpose,
            Method = TwoFactorService.Passkey,
            CreatedAt = now.UtcDateTime,
            ExpiresAt = expiresAt.UtcDateTime,
        };
        await TwoFactorStore.UpsertPendingAsync(connection, transaction, pending);
        await PhoneStore.DeleteCodesAsync(connection, transaction, userId, TwoFactorService.PendingCode);
        await PasskeyStore.PutChallengeAsync(connection, transaction, new PasskeyChallengeRow
        {
            UserId = userId,
            Ceremony = PasskeyStore.Registration,
            PendingId = pending.Id,
            Challenge = challenge,
            Options = stored,
            CreatedAt = now.UtcDateTime,
            ExpiresAt = expiresAt.UtcDateTime,
        });
        await AuditLog.AppendAsync(connection, transaction, userId,
            purpose == TwoFactorService.Enroll ? AuditEvents.EnrollmentStarted : AuditEvents.MethodSwitchStarted, now, actor,
            new { method = TwoFactorService.Passkey });
        await transaction.CommitAsync(ct);
        return new PendingStarted(null, null, new PasskeyEnrollmentResponse(TwoFactorService.Passkey, options, expiresAt));
    }

    public Task<Result<ConfirmResponse>> ConfirmEnrollmentAsync(string userId, RegistrationResponseJson credential, Guid? actor,
        CancellationToken ct) =>
        ConfirmAsync<ConfirmResponse>(userId, credential, TwoFactorService.Enroll, actor, ct, async (connection, transaction, pending, _, now) =>
        {
            if (!await TwoFactorStore.InsertFactorAsync(connection, transaction, pending, -1, now))
            {
                return Problems.AlreadyEnabled;
            }

            var codes = BackupCodeSet.Generate();
            await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, userId, codes.Select(BackupCodeSet.Hash).ToList(), now);
            await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.EnrollmentConfirmed, now, actor,
                new { method = TwoFactorService.Passkey, backupCodes = codes.Count });
            logger.LogInformation("Enabled {Method} second factor for {UserId}", TwoFactorService.Passkey, userId);
            return new ConfirmResponse(true, TwoFactorService.Passkey, codes);
        });

    public Task<Result<SwitchConfirmResponse>> ConfirmSwitchAsync(string userId, RegistrationResponseJson credential, Guid? actor,
        CancellationToken ct) =>
        ConfirmAsync<SwitchConfirmResponse>(userId, credential, TwoFactorService.Switch, actor, ct, async (connection, transaction, pending, before, now) =>
        {
            if (before is null)
            {
                return Problems.NotEnabled;
            }

            if (!await TwoFactorStore.ReplaceFactorAsync(connection, transaction, pending, -1, now))
            {
                return Problems.Locked;
            }

            // The old factor's login codes and passkeys die with it; the new credential is inserted after this.
            await PhoneStore.DeleteCodesAsync(connection, transaction, userId, TwoFactorService.LoginCode);
            await PasskeyStore.DeleteForUserAsync(connection, transaction, userId);
            await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.MethodSwitched, now, actor,
                new { from = before.Method, to = TwoFactorService.Passkey });
            logger.LogInformation("Switched {UserId} from {From} to {To}", userId, before.Method, TwoFactorService.Passkey);
            return new SwitchConfirmResponse(true, TwoFactorService.Passkey);
        });

    private delegate Task<Result<T>> OnConfirmed<T>(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        FactorRow? factor, DateTimeOffset now);

    private async Task<Result<T>> ConfirmAsync<T>(string userId, RegistrationResponseJson credential, string purpose, Guid? actor,
        CancellationToken ct, OnConfirmed<T> complete)
    {
        var parsed = PasskeyJson.Registration(credential);
        if (parsed.Error is not null)
        {
            return parsed.Error;
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var (factor, recentFailures) = await TwoFactorStore.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        var pending = await TwoFactorStore.GetPendingAsync(connection, transaction, userId, now);
        if (pending is null || pending.Purpose != purpose)
        {
            return purpose == TwoFactorService.Switch ? Problems.NoPendingSwitch
                : factor is null ? Problems.NoPendingEnrollment : Problems.AlreadyEnabled;
        }

        if (pending.Method != TwoFactorService.Passkey)
        {
            return Problems.Validation($"The pending {purpose} is for {pending.Method}: confirm it with a code.");
        }

        if (await twoFactor.AttemptGateAsync(connection, transaction, userId, factor, recentFailures, now, actor) is { } closed)
        {
            await transaction.CommitAsync(ct);
            return closed;
        }

        var challenge = await PasskeyStore.TakeChallengeAsync(connection, transaction, userId, PasskeyStore.Registration);
        var (registered, refusal) = await ceremonies.VerifyRegistrationAsync(parsed.Value!, challenge, pending.Id, now,
            async id => !await PasskeyStore.CredentialExistsAsync(connection, transaction, id), ct);
        if (refusal is not null)
        {
            var failure = await twoFactor.RecordFailureAsync(connection, transaction, userId, factor, recentFailures, TwoFactorService.Passkey,
                purpose, refusal.Reason, now, actor);
            await transaction.CommitAsync(ct);
            ServiceMetrics.Verifications.WithLabels(TwoFactorService.Passkey, refusal.Problem.Code).Inc();
            return failure.Code == Problems.Locked.Code ? failure : refusal.Problem;
        }

        if (!await TwoFactorStore.DeletePendingAsync(connection, transaction, pending))
        {
            await transaction.RollbackAsync(ct);
            return purpose == TwoFactorService.Switch ? Problems.NoPendingSwitch : Problems.AlreadyEnabled;
        }

        var result = await complete(connection, transaction, pending, factor, now);
        if (result.Error is not null)
        {
            await transaction.RollbackAsync(ct);
            return result;
        }

        await PasskeyStore.InsertCredentialAsync(connection, transaction, new PasskeyCredentialRow
        {
            CredentialId = registered!.Id,
            UserId = userId,
            PublicKey = registered.PublicKey,
            SignCount = registered.SignCount,
            Transports = PasskeyJson.KnownOnly(credential.Response?.Transports),
            Aaguid = registered.AaGuid,
            UserHandle = registered.User.Id,
            AttestationFmt = registered.AttestationFormat,
            BackupEligible = registered.IsBackupEligible,
            BackedUp = registered.IsBackedUp,
            CreatedAt = now.UtcDateTime,
        });
        await transaction.CommitAsync(ct);
        ServiceMetrics.Verifications.WithLabels(TwoFactorService.Passkey, "success").Inc();
        return result;
    }

    /// <summary>What the authenticator will show: short, printable.</summary>
    public static Problem? LabelProblem(string? accountName, string? displayName) => IsLabel(accountName) && IsLabel(displayName)
        ? null
        : Problems.Validation("accountName and displayName must be at most 64 characters without control characters.");

    private static bool IsLabel(string? value) => value is null || (value.Length <= 64 && !value.Any(char.IsControl));
}
