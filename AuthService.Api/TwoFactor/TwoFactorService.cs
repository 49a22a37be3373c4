using AuthService.Api.Configuration;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.BackupCodes;
using AuthService.Core.Security;
using AuthService.Core.Totp;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The second-factor use cases: Core decides, <see cref="TwoFactorStore"/> persists atomically.</summary>
public sealed class TwoFactorService(
    NpgsqlDataSource dataSource,
    SecretBox secrets,
    TimeProvider time,
    IOptions<AuthOptions> authOptions,
    IOptions<TotpOptions> totpOptions,
    ILogger<TwoFactorService> logger)
{
    public const string Totp = "totp";
    public const string Phone = "phone";
    public const string BackupCode = "backup_code";

    private readonly TotpOptions _totp = totpOptions.Value;

    public async Task<StatusResponse> GetStatusAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (factor, pending, remaining) = await TwoFactorStore.GetStatusAsync(connection, userId, time.GetUtcNow());
        return new StatusResponse(
            userId,
            factor is not null,
            factor?.Method,
            null,
            factor is null ? null : Utc(factor.EnabledAt),
            remaining,
            factor?.LockedAt is not null,
            pending is null ? null : new PendingStatus(pending.Purpose, pending.Method, null, Utc(pending.ExpiresAt)));
    }

    public async Task<Result<TotpEnrollmentResponse>> EnrollTotpAsync(string userId, string? accountName, Guid? actor,
        CancellationToken cancellationToken)
    {
        accountName = string.IsNullOrWhiteSpace(accountName) ? userId : accountName.Trim();
        if (accountName.Length > 256 || accountName.Any(char.IsControl))
        {
            return Problems.Validation("accountName must be at most 256 characters without control characters.");
        }

        var now = time.GetUtcNow();
        var profile = _totp.Profile;
        var secret = TotpSecrets.Generate();
        var pending = new PendingRow
        {
            UserId = userId,
            Id = Guid.CreateVersion7(now),
            Purpose = "enroll",
            Method = Totp,
            TotpSecret = secrets.Seal(secret, TotpAad(userId)),
            TotpAlgorithm = profile.AlgorithmName,
            TotpDigits = profile.Digits,
            TotpPeriod = profile.PeriodSeconds,
            CreatedAt = now.UtcDateTime,
            ExpiresAt = (now + _totp.EnrollmentTtl).UtcDateTime,
        };

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await TwoFactorStore.GetFactorAsync(connection, transaction, userId) is not null)
        {
            return Problems.AlreadyEnabled;
        }

        await TwoFactorStore.UpsertPendingAsync(connection, transaction, pending);
        await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.EnrollmentStarted, now, actor, new { method = Totp });
        await transaction.CommitAsync(cancellationToken);

        var uri = OtpAuthUri.Build(authOptions.Value.Issuer, accountName, secret, profile);
        var (svg, png) = QrCodes.Render(uri);
        return new TotpEnrollmentResponse(Totp, TotpSecrets.ToBase32(secret), uri, svg, png, Utc(pending.ExpiresAt));
    }

    public async Task<Result<ConfirmResponse>> ConfirmEnrollmentAsync(string userId, string? code, Guid? actor,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var pending = await TwoFactorStore.GetPendingAsync(connection, transaction, userId, now);
        if (pending is null || pending.Purpose != "enroll")
        {
            return await TwoFactorStore.GetFactorAsync(connection, transaction, userId) is null
                ? Problems.NoPendingEnrollment
                : Problems.AlreadyEnabled;
        }

        var check = CheckPendingCode(pending, code, now);
        if (!check.Accepted)
        {
            await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.VerificationFailed, now, actor,
                new { method = pending.Method, reason = "invalid_code", stage = "enrollment" });
            await transaction.CommitAsync(cancellationToken);
            return Problems.InvalidCode;
        }

        if (!await TwoFactorStore.DeletePendingAsync(connection, transaction, pending) ||
            !await TwoFactorStore.InsertFactorAsync(connection, transaction, pending, check.Step, now))
        {
            // Another request confirmed or replaced this enrollment first; its answer stands.
            await transaction.RollbackAsync(cancellationToken);
            return Problems.AlreadyEnabled;
        }

        var codes = BackupCodeSet.Generate();
        await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, userId, codes.Select(BackupCodeSet.Hash).ToList(), now);
        await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.EnrollmentConfirmed, now, actor,
            new { method = pending.Method, backupCodes = codes.Count });
        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Enabled {Method} second factor for {UserId}", pending.Method, userId);
        return new ConfirmResponse(true, pending.Method, codes);
    }

    public async Task<Result<VerifyResponse>> VerifyAsync(string userId, string? code, string? backupCode, Guid? actor,
        CancellationToken cancellationToken)
    {
        if (ProofShapeProblem(code, backupCode) is { } invalid)
        {
            return invalid;
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var factor = await TwoFactorStore.GetFactorAsync(connection, null, userId);
        if (factor is null)
        {
            return Problems.NotEnabled;
        }

        return await CheckProofAsync(connection, null, factor, code, backupCode, now, actor, "login");
    }

    public async Task<int> BackupCodesRemainingAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await TwoFactorStore.GetUnusedBackupCodesAsync(connection, null, userId)).Count;
    }

    public async Task<Result<BackupCodesResponse>> RegenerateBackupCodesAsync(string userId, Proof? proof, Guid? actor,
        CancellationToken cancellationToken)
    {
        if (proof is null)
        {
            return Problems.Validation("proof is required: a code of the current factor or a backup code.");
        }

        if (ProofShapeProblem(proof.Code, proof.BackupCode) is { } invalid)
        {
            return invalid;
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var factor = await TwoFactorStore.GetFactorAsync(connection, transaction, userId);
        if (factor is null)
        {
            return Problems.NotEnabled;
        }

        var checkedProof = await CheckProofAsync(connection, transaction, factor, proof.Code, proof.BackupCode, now, actor,
            "backup_codes");
        if (checkedProof.Error is not null)
        {
            await transaction.CommitAsync(cancellationToken);
            return checkedProof.Error;
        }

        var codes = BackupCodeSet.Generate();
        await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, userId, codes.Select(BackupCodeSet.Hash).ToList(), now);
        await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.BackupCodesRegenerated, now, actor,
            new { backupCodes = codes.Count });
        await transaction.CommitAsync(cancellationToken);
        return new BackupCodesResponse(codes, codes.Count);
    }

    /// <summary>Both or neither of code and backupCode is a caller bug; an overlong value is hostile input.</summary>
    private static Problem? ProofShapeProblem(string? code, string? backupCode)
    {
        if ((code is null) == (backupCode is null))
        {
            return Problems.Validation("Send exactly one of code and backupCode.");
        }

        var value = code ?? backupCode!;
        if (value.Length > 64 || value.Any(char.IsControl))
        {
            return Problems.Validation("The code must be at most 64 printable characters.");
        }

        return null;
    }

    /// <summary>Checks and consumes a code of the user's current factor or one of their backup codes.
    /// Failures are recorded (audit, consecutive count) in the same connection.</summary>
    private async Task<Result<VerifyResponse>> CheckProofAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        FactorRow factor, string? code, string? backupCode, DateTimeOffset now, Guid? actor, string stage)
    {
        if (factor.LockedAt is not null)
        {
            return Problems.Locked;
        }

        var userId = factor.UserId;
        string method;
        VerifyResponse? success = null;
        string reason = "invalid_code";
        if (backupCode is not null)
        {
            method = BackupCode;
            var stored = await TwoFactorStore.GetUnusedBackupCodesAsync(connection, transaction, userId);
            var match = BackupCodeSet.FindMatch(backupCode, stored.Select(s => new BackupCodeHash(s.Salt, s.CodeHash)).ToList());
            if (match >= 0)
            {
                var remaining = await TwoFactorStore.TryUseBackupCodeAsync(connection, transaction, userId, stored[match].Id, now);
                if (remaining is { } left)
                {
                    success = new VerifyResponse(true, BackupCode, left, null);
                }
                else
                {
                    reason = "already_used";
                }
            }
        }
        else
        {
            method = factor.Method;
            var check = factor.Method == Totp
                ? TotpVerifier.Verify(OpenTotpSecret(userId, factor.TotpSecret), ProfileOf(factor.TotpAlgorithm, factor.TotpDigits, factor.TotpPeriod),
                    code, now, factor.LastTotpStep)
                : TotpCheck.Rejected;
            if (check.Accepted)
            {
                var remaining = await TwoFactorStore.TryAcceptTotpStepAsync(connection, transaction, userId, check.Step, now);
                if (remaining is { } left)
                {
                    success = new VerifyResponse(true, Totp, left, check.DriftSteps);
                }
                else
                {
                    reason = "replayed";
                }
            }
        }

        if (success is not null)
        {
            await AuditLog.AppendAsync(connection, transaction, userId,
                method == BackupCode ? AuditEvents.BackupCodeUsed : AuditEvents.VerificationSucceeded, now, actor,
                new { method, stage, driftSteps = success.DriftSteps, backupCodesRemaining = success.BackupCodesRemaining });
            return success;
        }

        await TwoFactorStore.RecordFailureAsync(connection, transaction, userId, now);
        await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.VerificationFailed, now, actor,
            new { method, stage, reason });
        return Problems.InvalidCode;
    }

    private TotpCheck CheckPendingCode(PendingRow pending, string? code, DateTimeOffset now) => pending.Method switch
    {
        Totp => TotpVerifier.Verify(OpenTotpSecret(pending.UserId, pending.TotpSecret),
            ProfileOf(pending.TotpAlgorithm, pending.TotpDigits, pending.TotpPeriod), code, now, -1),
        _ => TotpCheck.Rejected,
    };

    private byte[] OpenTotpSecret(string userId, byte[]? sealedSecret) =>
        secrets.Open(sealedSecret ?? throw new InvalidOperationException("TOTP factor without a secret."), TotpAad(userId));

    private static TotpProfile ProfileOf(string? algorithm, int? digits, int? period) =>
        TotpProfile.TryParseAlgorithm(algorithm, out var parsed)
            ? new TotpProfile(parsed, digits ?? 6, period ?? 30)
            : throw new InvalidOperationException($"Unknown stored TOTP algorithm '{algorithm}'.");

    /// <summary>Binds a sealed TOTP secret to its user: a ciphertext copied to another row will not open.</summary>
    internal static string TotpAad(string userId) => "totp:" + userId;

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
