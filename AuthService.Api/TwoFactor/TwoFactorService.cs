using System.Text.Json;
using AuthService.Api.Configuration;
using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.Telephony;
using AuthService.Core.BackupCodes;
using AuthService.Core.Phone;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using AuthService.Core.Totp;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The second-factor use cases: Core decides, the stores persist atomically, telephony delivers.
/// Every rule that counts or consumes runs inside a transaction holding the user's advisory lock, so it
/// holds exactly across connections and instances.</summary>
public sealed class TwoFactorService(
    NpgsqlDataSource dataSource,
    TotpLogins logins,
    SecretBox secrets,
    TimeProvider time,
    PhoneDeliveries deliveries,
    IOptions<AuthOptions> authOptions,
    IOptions<TotpOptions> totpOptions,
    IOptions<LimitsOptions> limitOptions,
    ILogger<TwoFactorService> logger)
{
    public const string Totp = "totp";
    public const string Phone = "phone";
    public const string BackupCode = "backup_code";
    public const string Passkey = "passkey";
    internal const string Enroll = "enroll";
    internal const string Switch = "switch";
    internal const string PendingCode = "pending";
    internal const string LoginCode = "login";
    private static readonly TimeSpan Day = TimeSpan.FromHours(24);

    private readonly TotpOptions _totp = totpOptions.Value;
    private readonly LimitsOptions _limits = limitOptions.Value;

    public async Task<StatusResponse> GetStatusAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (factor, pending, remaining) = await TwoFactorStore.GetStatusAsync(connection, userId, time.GetUtcNow());
        return new StatusResponse(
            userId,
            factor is not null,
            factor?.Method,
            factor?.PhoneMasked,
            factor is null ? null : Utc(factor.EnabledAt),
            remaining,
            factor?.LockedAt is not null,
            pending is null ? null : new PendingStatus(pending.Purpose, pending.Method, pending.Channel, Utc(pending.ExpiresAt)));
    }

    /// <summary>Starts enrollment of a user without a factor: a TOTP secret, or a code sent to a phone.</summary>
    public async Task<Result<PendingStarted>> EnrollAsync(string userId, EnrollRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if ((ValidateMethodRequest(request.Method, request.AccountName, request.PhoneNumber, request.Channel)
             ?? DestinationProblem(request.Method, request.PhoneNumber, request.Channel)) is { } invalid)
        {
            return invalid;
        }

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            if (await TwoFactorStore.GetFactorAsync(connection, null, userId) is not null)
            {
                return Problems.AlreadyEnabled;
            }
        }

        return await StartPendingAsync(userId, Enroll, request.Method!, request.AccountName, request.PhoneNumber, request.Channel, actor,
            cancellationToken);
    }

    /// <summary>Starts a switch to another method (or a new device or number): the proof of the current factor is
    /// consumed first; the current factor keeps working until the new one is confirmed.</summary>
    public async Task<Result<PendingStarted>> StartSwitchAsync(string userId, SwitchMethodRequest request, Guid? actor,
        CancellationToken cancellationToken)
    {
        if ((ValidateMethodRequest(request.Method, request.AccountName, request.PhoneNumber, request.Channel)
             ?? DestinationProblem(request.Method, request.PhoneNumber, request.Channel)) is { } invalid)
        {
            return invalid;
        }

        var proof = await ConsumeProofAsync(userId, request.Proof, actor, "switch_method", cancellationToken);
        if (proof.Error is not null)
        {
            return proof.Error;
        }

        return await StartPendingAsync(userId, Switch, request.Method!, request.AccountName, request.PhoneNumber, request.Channel, actor,
            cancellationToken);
    }

    public Task<Result<ConfirmResponse>> ConfirmEnrollmentAsync(string userId, string? code, Guid? actor, CancellationToken cancellationToken) =>
        ConfirmPendingAsync<ConfirmResponse>(userId, code, Enroll, actor, cancellationToken, async (connection, transaction, pending, _, step, now) =>
        {
            if (!await TwoFactorStore.InsertFactorAsync(connection, transaction, pending, step, now))
            {
                return Problems.AlreadyEnabled;
            }

            var codes = BackupCodeSet.Generate();
            await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, userId, codes.Select(BackupCodeSet.Hash).ToList(), now);
            await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.EnrollmentConfirmed, now, actor,
                new { method = pending.Method, phoneNumber = pending.PhoneMasked, channel = pending.Channel, backupCodes = codes.Count });
            logger.LogInformation("Enabled {Method} second factor for {UserId}", pending.Method, userId);
            return new ConfirmResponse(true, pending.Method, codes);
        });

    public Task<Result<SwitchConfirmResponse>> ConfirmSwitchAsync(string userId, string? code, Guid? actor, CancellationToken cancellationToken) =>
        ConfirmPendingAsync<SwitchConfirmResponse>(userId, code, Switch, actor, cancellationToken, async (connection, transaction, pending, before, step, now) =>
        {
            if (before is null)
            {
                return Problems.NotEnabled;
            }

            if (!await TwoFactorStore.ReplaceFactorAsync(connection, transaction, pending, step, now))
            {
                return Problems.Locked;
            }

            // Login codes sent to the old number, and the passkeys of an old passkey factor, die with it.
            await PhoneStore.DeleteCodesAsync(connection, transaction, userId, LoginCode);
            await Passkeys.PasskeyStore.DeleteForUserAsync(connection, transaction, userId);
            await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.MethodSwitched, now, actor,
                new { from = before.Method, to = pending.Method, phoneNumber = pending.PhoneMasked, channel = pending.Channel });
            logger.LogInformation("Switched {UserId} from {From} to {To}", userId, before.Method, pending.Method);
            return new SwitchConfirmResponse(true, pending.Method);
        });

    /// <summary>Sends a fresh login code to a phone user; the previous one dies. With an Idempotency-Key, a retry
    /// returns the first answer and sends nothing.</summary>
    public async Task<Result<ChallengeResponse>> ChallengeAsync(string userId, string? channel, string? idempotencyKey, Guid? actor,
        CancellationToken cancellationToken)
    {
        if (channel is not ("sms" or "call"))
        {
            return Problems.Validation("channel must be 'sms' or 'call'.");
        }

        if (idempotencyKey is not null && (idempotencyKey.Length is 0 or > 128 || idempotencyKey.Any(c => c is < '!' or > '~')))
        {
            return Problems.Validation("Idempotency-Key must be 1–128 visible ASCII characters.");
        }

        var now = time.GetUtcNow();
        if (idempotencyKey is not null)
        {
            var replay = await IdempotencyStore.BeginAsync(dataSource, userId, idempotencyKey, now, cancellationToken);
            if (replay is { Status: null })
            {
                return Problems.IdempotencyInProgress;
            }

            if (replay is { Response: { } stored })
            {
                return replay.Status == 202
                    ? JsonSerializer.Deserialize<ChallengeResponse>(stored, JsonSerializerOptions.Web)!
                    : JsonSerializer.Deserialize<Problem>(stored, JsonSerializerOptions.Web)!;
            }
        }

        Result<ChallengeResponse> result;
        try
        {
            result = await SendChallengeAsync(userId, channel, actor, now, cancellationToken);
        }
        catch (Exception) when (idempotencyKey is not null)
        {
            await ReleaseQuietlyAsync(userId, idempotencyKey);
            throw;
        }

        if (idempotencyKey is not null)
        {
            // A refusal sent nothing: the key is released for a retry. An outcome the provider left unknown may have sent
            // the message, so it is the answer a retry gets (a new code takes a new key): never a second message.
            await IdempotencyStore.CompleteAsync(dataSource, userId, idempotencyKey, result.Error switch
            {
                null => JsonSerializer.Serialize(result.Value, JsonSerializerOptions.Web),
                { Code: TelephonyProblems.OutcomeUnknownCode } unknown => JsonSerializer.Serialize(unknown, JsonSerializerOptions.Web),
                _ => null,
            }, result.Error?.Status ?? 202);
        }

        return result;
    }

    /// <summary>Releases a claimed key after a failure; when the database is what failed, the claim lapses on its own.</summary>
    private async Task ReleaseQuietlyAsync(string userId, string idempotencyKey)
    {
        try
        {
            await IdempotencyStore.CompleteAsync(dataSource, userId, idempotencyKey, null);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            logger.LogWarning("Could not release an Idempotency-Key of {UserId}; it lapses in {Lease}", userId, IdempotencyStore.Lease);
        }
    }

    private async Task<Result<ChallengeResponse>> SendChallengeAsync(string userId, string channel, Guid? actor, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        FactorRow? factor;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            factor = await TwoFactorStore.GetFactorAsync(connection, null, userId);
        }

        if (factor is null)
        {
            return Problems.NotEnabled;
        }

        if (factor.Method != Phone)
        {
            return Problems.NoChallengeForMethod;
        }

        if (factor.LockedAt is not null)
        {
            return Problems.Locked;
        }

        var phone = secrets.OpenString(factor.PhoneNumber!, PhoneAad(userId));
        if (deliveries.CheckDestination(phone, channel) is { } refused)
        {
            return refused;
        }

        var sent = await DeliverCodeAsync(userId, phone, factor.PhoneHash!, channel, LoginCode, Guid.CreateVersion7(time.GetUtcNow()), actor, null,
            cancellationToken);
        return sent.Error is not null ? sent.Error : new ChallengeResponse(channel, factor.PhoneMasked!, sent.Value);
    }

    public async Task<Result<VerifyResponse>> VerifyAsync(string userId, string? code, string? backupCode, Guid? actor,
        CancellationToken cancellationToken)
    {
        if (ProofShapeProblem(code, backupCode) is { } invalid)
        {
            return invalid;
        }

        return await ConsumeProofAsync(userId, new Proof(code, backupCode), actor, "login", cancellationToken);
    }

    public async Task<int> BackupCodesRemainingAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(
            "select count(*)::int from backup_codes where user_id = @userId and used_at is null", new { userId });
    }

    public async Task<Result<BackupCodesResponse>> RegenerateBackupCodesAsync(string userId, Proof? proof, Guid? actor,
        CancellationToken cancellationToken)
    {
        var codes = BackupCodeSet.Generate();
        var hashes = codes.Select(BackupCodeSet.Hash).ToList();
        var checkedProof = await ConsumeProofAsync(userId, proof, actor, "backup_codes", cancellationToken,
            async (connection, transaction, now) =>
            {
                await TwoFactorStore.ReplaceBackupCodesAsync(connection, transaction, userId, hashes, now);
                await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.BackupCodesRegenerated, now, actor,
                    new { backupCodes = codes.Count });
            });
        return checkedProof.Error is not null ? checkedProof.Error : new BackupCodesResponse(codes, codes.Count);
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

    internal static Problem? ValidateMethodRequest(string? method, string? accountName, string? phoneNumber, string? channel)
    {
        switch (method)
        {
            case Totp:
                if (accountName is not null && (accountName.Length > 256 || accountName.Any(char.IsControl)))
                {
                    return Problems.Validation("accountName must be at most 256 characters without control characters.");
                }

                return null;
            case Phone:
                if (channel is not ("sms" or "call"))
                {
                    return Problems.Validation("channel must be 'sms' or 'call'.");
                }

                var parsed = PhoneNumbers.Parse(phoneNumber);
                return parsed.IsValid
                    ? null
                    : new Problem(400, "invalid_phone_number", "The phone number is invalid.",
                        $"phoneNumber must be a valid number in E.164 form, e.g. +13035550123 ({parsed.Error}).");
            default:
                return Problems.Validation("method must be 'totp', 'phone' or 'passkey'.");
        }
    }

    internal async Task<Result<PendingStarted>> StartPendingAsync(string userId, string purpose, string method, string? accountName,
        string? phoneNumber, string? channel, Guid? actor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var startedEvent = purpose == Enroll ? AuditEvents.EnrollmentStarted : AuditEvents.MethodSwitchStarted;
        if (method == Totp)
        {
            accountName = string.IsNullOrWhiteSpace(accountName) ? userId : accountName.Trim();
            var profile = _totp.Profile;
            var secret = TotpSecrets.Generate();
            var pending = NewPending(userId, purpose, Totp, now, _totp.EnrollmentTtl) with
            {
                TotpSecret = secrets.Seal(secret, TotpAad(userId)),
                TotpAlgorithm = profile.AlgorithmName,
                TotpDigits = profile.Digits,
                TotpPeriod = profile.PeriodSeconds,
            };
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                await TwoFactorStore.UpsertPendingAsync(connection, transaction, pending);
                await PhoneStore.DeleteCodesAsync(connection, transaction, userId, PendingCode);
                await AuditLog.AppendAsync(connection, transaction, userId, startedEvent, now, actor, new { method = Totp });
                await transaction.CommitAsync(cancellationToken);
            }

            var uri = OtpAuthUri.Build(authOptions.Value.Issuer, accountName, secret, profile);
            var (svg, png) = QrCodes.Render(uri);
            return new PendingStarted(new TotpEnrollmentResponse(Totp, TotpSecrets.ToBase32(secret), uri, svg, png, Utc(pending.ExpiresAt)), null);
        }

        var e164 = PhoneNumbers.Parse(phoneNumber).E164!;
        if (deliveries.CheckDestination(e164, channel!) is { } refused)
        {
            return refused; // callers outside this class (a switch from another factor) may not have checked
        }

        var masked = PhoneNumbers.Mask(e164);
        var phoneHash = PhoneHash(e164);
        var phonePending = NewPending(userId, purpose, Phone, now, PhoneCodes.Validity) with
        {
            PhoneNumber = secrets.Seal(e164, PhoneAad(userId)),
            PhoneHash = phoneHash,
            PhoneMasked = masked,
            Channel = channel,
        };
        // The code's id is the pending row's: only the code sent to this number confirms this enrollment.
        var sent = await DeliverCodeAsync(userId, e164, phoneHash, channel!, PendingCode, phonePending.Id, actor,
            async (connection, transaction) =>
            {
                await TwoFactorStore.UpsertPendingAsync(connection, transaction, phonePending);
                await AuditLog.AppendAsync(connection, transaction, userId, startedEvent, now, actor,
                    new { method = Phone, phoneNumber = masked, channel });
            }, cancellationToken);
        return sent.Error is not null ? sent.Error : new PendingStarted(null, new PhoneEnrollmentResponse(Phone, masked, channel!, sent.Value));
    }

    /// <summary>DESIGN §8.2: a phone number of a refused type or country is refused before anything is spent, sent or
    /// counted (<see cref="PhoneDeliveries.CheckDestination"/>); null for a valid request of any other method.</summary>
    private Problem? DestinationProblem(string? method, string? phoneNumber, string? channel) =>
        method == Phone && PhoneNumbers.Parse(phoneNumber) is { IsValid: true } parsed ? deliveries.CheckDestination(parsed.E164, channel!) : null;

    private static PendingRow NewPending(string userId, string purpose, string method, DateTimeOffset now, TimeSpan ttl) => new()
    {
        UserId = userId,
        Id = Guid.CreateVersion7(now),
        Purpose = purpose,
        Method = method,
        CreatedAt = now.UtcDateTime,
        ExpiresAt = (now + ttl).UtcDateTime,
    };

    /// <summary>Reserves a delivery against the budgets and caps (<see cref="PhoneDeliveries"/>), sends the code, then
    /// stores it. A send that surely failed stores nothing and gives the reservation back, so the user can simply retry; a
    /// send whose outcome is unknown stays counted and its code is stored (it works if the message arrives), and the
    /// client is told <c>telephony_outcome_unknown</c>.</summary>
    private async Task<Result<DateTimeOffset>> DeliverCodeAsync(string userId, string e164, byte[] phoneHash, string channel, string purpose,
        Guid codeId, Guid? actor, Func<NpgsqlConnection, NpgsqlTransaction, Task>? alsoStore, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var masked = PhoneNumbers.Mask(e164);
        var send = new SendRequest(userId, e164, phoneHash, channel, actor);
        var reserved = await deliveries.ReserveAsync(send, now, cancellationToken);
        if (reserved.Error is not null)
        {
            return reserved.Error;
        }

        // From here on the client's abort no longer cancels anything: a message that may reach the provider is counted,
        // and a code that reached it is stored, so the code the person receives works (the sender has its own timeouts).
        var code = PhoneCodes.Generate();
        DeliveryReceipt? receipt = null;
        try
        {
            receipt = await deliveries.SendAsync(
                new CodeDelivery(e164, channel == "call" ? DeliveryChannel.Call : DeliveryChannel.Sms, code, authOptions.Value.Issuer),
                CancellationToken.None);
        }
        catch (TelephonyUnavailableException e)
        {
            await deliveries.RecordFailureAsync(send, reserved.Value, e, now);
            if (!e.MayHaveBeenDelivered)
            {
                return Problems.TelephonyUnavailable(e.Transient);
            }
        }

        var expiresAt = now + PhoneCodes.Validity;
        await using (var connection = await dataSource.OpenConnectionAsync(CancellationToken.None))
        await using (var transaction = await connection.BeginTransactionAsync(CancellationToken.None))
        {
            await PhoneStore.UpsertCodeAsync(connection, transaction, userId, purpose, codeId, channel, secrets.ActiveKeyId,
                PhoneCodeHash(secrets.ActiveKeyId, userId, purpose, codeId, code), now, expiresAt);
            if (alsoStore is not null)
            {
                await alsoStore(connection, transaction);
            }

            if (receipt is not null)
            {
                await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.CodeSent, now, actor,
                    new { channel, purpose, phoneNumber = masked, provider = receipt.Provider, providerMessageId = receipt.ProviderMessageId });
            }

            await transaction.CommitAsync(CancellationToken.None);
        }

        if (receipt is null)
        {
            return TelephonyProblems.OutcomeUnknown;
        }

        logger.LogInformation("Sent {Channel} code to {MaskedPhone}", channel, masked);
        ServiceMetrics.Deliveries.WithLabels(channel, "sent").Inc();
        return expiresAt;
    }

    private delegate Task<Result<T>> OnConfirmed<T>(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        FactorRow? factor, long totpStep, DateTimeOffset now);

    /// <summary>Checks the first code of a pending enrollment or switch and, when it is right, completes it in
    /// the same transaction.</summary>
    private async Task<Result<T>> ConfirmPendingAsync<T>(string userId, string? code, string purpose, Guid? actor,
        CancellationToken cancellationToken, OnConfirmed<T> complete)
    {
        if (code is null || code.Length > 64)
        {
            return Problems.Validation("code is required (at most 64 characters).");
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (factor, recentFailures) = await TwoFactorStore.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        var pending = await TwoFactorStore.GetPendingAsync(connection, transaction, userId, now);
        if (pending is null || pending.Purpose != purpose)
        {
            return purpose == Switch ? Problems.NoPendingSwitch : factor is null ? Problems.NoPendingEnrollment : Problems.AlreadyEnabled;
        }

        if (await AttemptGateAsync(connection, transaction, userId, factor, recentFailures, now, actor) is { } closed)
        {
            await transaction.CommitAsync(cancellationToken);
            return closed;
        }

        var step = -1L;
        var accepted = false;
        if (pending.Method == Totp)
        {
            var check = TotpVerifier.Verify(OpenTotpSecret(userId, pending.TotpSecret), ProfileOf(pending), code, now, -1);
            (accepted, step) = (check.Accepted, check.Step);
        }
        else
        {
            accepted = await TryPhoneCodeAsync(connection, transaction, userId, PendingCode, code, now, expectedCodeId: pending.Id);
        }

        if (!accepted)
        {
            var failure = await RecordFailureAsync(connection, transaction, userId, factor, recentFailures, pending.Method, purpose, "invalid_code",
                now, actor);
            ServiceMetrics.Verifications.WithLabels(pending.Method, failure.Code).Inc();
            await transaction.CommitAsync(cancellationToken);
            return failure;
        }

        if (!await TwoFactorStore.DeletePendingAsync(connection, transaction, pending))
        {
            await transaction.RollbackAsync(cancellationToken);
            return purpose == Switch ? Problems.NoPendingSwitch : Problems.AlreadyEnabled;
        }

        var result = await complete(connection, transaction, pending, factor, step, now);
        if (result.Error is not null)
        {
            await transaction.RollbackAsync(cancellationToken);
            return result;
        }

        await transaction.CommitAsync(cancellationToken);
        ServiceMetrics.Verifications.WithLabels(pending.Method, "success").Inc();
        return result;
    }

    /// <summary>Checks and consumes a code of the user's current factor or one of their backup codes, under the
    /// user's lock: lockout, the per-minute attempt limit, single use and the failure ledger are one atomic step.
    /// <paramref name="alsoOnSuccess"/> runs in the same transaction (e.g. replacing backup codes).</summary>
    internal async Task<Result<VerifyResponse>> ConsumeProofAsync(string userId, Proof? proof, Guid? actor, string stage,
        CancellationToken cancellationToken, Func<NpgsqlConnection, NpgsqlTransaction, DateTimeOffset, Task>? alsoOnSuccess = null)
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
        if (proof.Code is not null && alsoOnSuccess is null &&
            await logins.VerifyAsync(new TotpLogins.Attempt(userId, proof.Code, stage, actor, now)) is { } decided)
        {
            return decided; // a TOTP factor: decided under the lock in a coalesced batch
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (factor, recentFailures) = await TwoFactorStore.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        if (factor is null)
        {
            return Problems.NotEnabled;
        }

        if (await AttemptGateAsync(connection, transaction, userId, factor, recentFailures, now, actor) is { } closed)
        {
            await transaction.CommitAsync(cancellationToken);
            return closed;
        }

        VerifyResponse? success = null;
        var audited = false;
        var method = proof.BackupCode is not null ? BackupCode : factor.Method;
        var reason = "invalid_code";
        if (proof.BackupCode is not null)
        {
            var stored = await TwoFactorStore.GetUnusedBackupCodesAsync(connection, transaction, userId);
            var match = BackupCodeSet.FindMatch(proof.BackupCode, stored.Select(s => new BackupCodeHash(s.Salt, s.CodeHash, s.Iterations)).ToList());
            if (match >= 0 && await TwoFactorStore.TryUseBackupCodeAsync(connection, transaction, userId, stored[match].Id, now) is { } left)
            {
                success = new VerifyResponse(true, BackupCode, left, null);
            }
        }
        else if (factor.Method == Totp)
        {
            var (check, replayed) = TotpVerifier.CheckLogin(OpenTotpSecret(secrets, factor), ProfileOf(factor), proof.Code, now, factor.LastTotpStep);
            reason = replayed ? "replayed" : reason;
            if (check.Accepted)
            {
                if (await TwoFactorStore.TryAcceptTotpStepAsync(connection, transaction, Acceptance(factor, check, stage, now, _limits.AttemptsPerMinute, actor)) is { } left)
                {
                    success = new VerifyResponse(true, Totp, left, check.DriftSteps);
                    audited = true;
                }
                else
                {
                    reason = "replayed";
                }
            }
        }
        else if (await TryPhoneCodeAsync(connection, transaction, userId, LoginCode, proof.Code, now))
        {
            success = new VerifyResponse(true, Phone, await TwoFactorStore.ResetFailuresAsync(connection, transaction, userId, now), null);
        }

        if (success is null)
        {
            var failure = await RecordFailureAsync(connection, transaction, userId, factor, recentFailures, method, stage, reason, now, actor);
            await transaction.CommitAsync(cancellationToken);
            ServiceMetrics.Verifications.WithLabels(method, failure.Code).Inc();
            return failure;
        }

        if (!audited)
        {
            await AuditLog.AppendAsync(connection, transaction, userId,
                method == BackupCode ? AuditEvents.BackupCodeUsed : AuditEvents.VerificationSucceeded, now, actor,
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

    /// <summary>A TOTP code that matched <paramref name="factor"/>'s secret, ready for the one statement that accepts it
    /// under the limits as they stand at that moment.</summary>
    internal static TwoFactorStore.TotpAcceptance Acceptance(FactorRow factor, TotpCheck check, string stage, DateTimeOffset now,
        int attemptsPerMinute, Guid? actor) =>
        new(factor.UserId, factor.FactorId, check.Step, now, now - AttemptLimits.Window, attemptsPerMinute, actor,
            JsonSerializer.Serialize(new { method = Totp, stage, driftSteps = check.DriftSteps }, JsonSerializerOptions.Web));

    /// <summary>Spends one attempt of the live code of <paramref name="purpose"/> and consumes the code on a match.</summary>
    private async Task<bool> TryPhoneCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string purpose,
        string? input, DateTimeOffset now, Guid? expectedCodeId = null)
    {
        var code = PhoneCodes.Normalize(input);
        if (code is null)
        {
            return false;
        }

        var row = await PhoneStore.TakeAttemptAsync(connection, transaction, userId, purpose, PhoneCodes.MaxAttemptsPerCode, now);
        if (row is null || (expectedCodeId is { } expectedId && row.Id != expectedId))
        {
            return false;
        }

        var expected = PhoneCodeHash(row.KeyId, userId, purpose, row.Id, code);
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, row.CodeHash)
               && await PhoneStore.ConsumeCodeAsync(connection, transaction, userId, purpose, row.Id);
    }

    private AttemptLimits Limits => new(_limits.AttemptsPerMinute, _limits.LockoutThreshold);

    /// <summary>The gate of <see cref="AttemptRules"/> before a code is checked: locked, or limited (audited; while limited,
    /// even a right code is refused), or null when the code may be checked.</summary>
    internal async Task<Problem?> AttemptGateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, FactorRow? factor,
        IReadOnlyList<DateTimeOffset> recentFailures, DateTimeOffset now, Guid? actor)
    {
        var (gate, limit) = AttemptRules.Check(StateOf(factor, recentFailures), Limits, now);
        switch (gate)
        {
            case AttemptGate.Locked:
                return Problems.Locked;
            case AttemptGate.Limited:
                await AttemptStore.ExecuteAsync(connection, transaction, [AttemptStore.RateLimited(userId, now, actor)]);
                ServiceMetrics.LimitHits.WithLabels("attempts_per_minute").Inc();
                return Problems.TooManyAttempts(limit.RetryAfterSeconds);
            default:
                return null;
        }
    }

    private static AttemptState StateOf(FactorRow? factor, IReadOnlyList<DateTimeOffset> recentFailures) =>
        new(factor?.LockedAt is not null, recentFailures, factor?.FailedConsecutive ?? 0);

    /// <summary>Records a failed verification with <see cref="AttemptStore.Failure"/> (the same writes as a coalesced TOTP
    /// login): the per-minute ledger, the consecutive count of the factor, and the lock when that count reaches the threshold
    /// (NIST SP 800-63B §5.2.2).</summary>
    internal async Task<Problem> RecordFailureAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, FactorRow? factor,
        IReadOnlyList<DateTimeOffset> recentFailures, string method, string stage, string reason, DateTimeOffset now, Guid? actor)
    {
        var (next, locksNow) = factor is null
            ? (StateOf(null, recentFailures), false)
            : AttemptRules.AfterFailure(StateOf(factor, recentFailures), Limits, now);
        await AttemptStore.ExecuteAsync(connection, transaction, AttemptStore.Failure(userId, factor is not null, _limits.LockoutThreshold,
            locksNow, next.FailedConsecutive, now, actor, new { method, stage, reason }));
        if (!locksNow)
        {
            return Problems.InvalidCode;
        }

        logger.LogWarning("Locked the second factor of {UserId} after {Failures} consecutive failures", userId, next.FailedConsecutive);
        ServiceMetrics.Lockouts.Inc();
        return Problems.Locked;
    }

    private byte[] OpenTotpSecret(string userId, byte[]? sealedSecret) =>
        secrets.Open(sealedSecret ?? throw new InvalidOperationException("TOTP factor without a secret."), TotpAad(userId));

    internal static byte[] OpenTotpSecret(SecretBox secrets, FactorRow factor) =>
        secrets.Open(factor.TotpSecret ?? throw new InvalidOperationException("TOTP factor without a secret."), TotpAad(factor.UserId));

    internal static TotpProfile ProfileOf(FactorRow factor) => ProfileOf(factor.TotpAlgorithm, factor.TotpDigits, factor.TotpPeriod);

    private static TotpProfile ProfileOf(PendingRow pending) => ProfileOf(pending.TotpAlgorithm, pending.TotpDigits, pending.TotpPeriod);

    private static TotpProfile ProfileOf(string? algorithm, int? digits, int? period) =>
        TotpProfile.TryParseAlgorithm(algorithm, out var parsed)
            ? new TotpProfile(parsed, digits ?? 6, period ?? 30)
            : throw new InvalidOperationException($"Unknown stored TOTP algorithm '{algorithm}'.");

    /// <summary>Binds a sealed TOTP secret to its user: a ciphertext copied to another row will not open.</summary>
    internal static string TotpAad(string userId) => "totp:" + userId;

    internal static string PhoneAad(string userId) => "phone:" + userId;

    private byte[] PhoneHash(string e164) => KeyRotation.PhoneLookupHash(secrets, e164);

    /// <summary>Keyed hash of a code, bound to its user, purpose and id: a dump without the key reveals nothing,
    /// and a hash copied to another row does not match.</summary>
    private byte[] PhoneCodeHash(string keyId, string userId, string purpose, Guid id, string code) =>
        secrets.Mac(keyId, "phone-code", $"{userId}|{purpose}|{id:N}|{code}");

    private static DateTimeOffset Utc(DateTime value) => TwoFactorStore.Utc(value);
}
