using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Profiles;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using AuthService.Core.Totp;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts a pending enrollment or switch (<see cref="PendingPurposes"/>) with a TOTP secret or a phone code; the
/// request was validated by <see cref="MethodRequests"/>, a switch's proof checked but not spent. A passkey pending row is
/// started by its own ceremony, through the same <see cref="StoreAsync"/>.</summary>
public sealed class PendingFactors(NpgsqlDataSource dataSource, SecretBox secrets, PhoneCodeDelivery delivery, ProofCheck proofs,
    IOptions<AuthOptions> authOptions, IOptions<TotpOptions> totpOptions)
{
    /// <param name="proof">A switch's or an addition's checked proof (spent when the pending row is stored); null for an enrollment.</param>
    /// <param name="label">The new factor's label (an addition may name it).</param>
    public Task<Result<PendingStarted>> StartAsync(string userId, string purpose, string method, string? accountName, string? phoneNumber,
        string? channel, CheckedProof? proof, Guid? actor, DateTimeOffset now, CancellationToken cancellationToken, string? label = null) =>
        method == FactorMethods.Totp
            ? StartTotpAsync(userId, purpose, accountName, proof, actor, now, label, cancellationToken)
            : StartPhoneAsync(userId, purpose, PhoneNumbers.Parse(phoneNumber).E164!, channel!, proof, actor, now, label, cancellationToken);

    public static PendingRow New(string userId, string purpose, string method, DateTimeOffset now, TimeSpan ttl, CheckedProof? proof,
        string? label = null) => new()
    {
        UserId = userId,
        Id = Guid.CreateVersion7(now),
        Purpose = purpose,
        Method = method,
        CreatedAt = now.UtcDateTime,
        ExpiresAt = (now + ttl).UtcDateTime,
        FromFactorId = purpose == PendingPurposes.Switch ? proof?.FactorId : null,
        Label = label,
    };

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
        else if ((await proofs.SpendAsync(connection, transaction, proof, user, recentFailures, now, actor)).Error is { } refused)
        {
            return refused;
        }

        await TwoFactorStore.UpsertPendingAsync(connection, transaction, pending);
        if (pending.Method != FactorMethods.Phone)
        {
            // A code sent for an earlier pending phone confirms nothing now (a phone pending row brings its own code).
            await PhoneCodeStore.DeleteCodesAsync(connection, transaction, pending.UserId, PhoneCodes.PendingPurpose);
        }

        await AuditLog.AppendAsync(connection, transaction, pending.UserId, pending.Purpose == PendingPurposes.Switch
            ? new AuditEvent.MethodSwitchStarted(pending.Method, pending.PhoneMasked, pending.Channel, pending.Id)
            : new AuditEvent.EnrollmentStarted(pending.Method, pending.PhoneMasked, pending.Channel, pending.Id), now, actor);
        return null;
    }

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

    private async Task<Result<PendingStarted>> StartTotpAsync(string userId, string purpose, string? accountName, CheckedProof? proof, Guid? actor,
        DateTimeOffset now, string? label, CancellationToken cancellationToken)
    {
        var totp = totpOptions.Value;
        var profile = ProfileContext.Profile?.Totp ?? totp.Profile; // DESIGN §9.5: the caller key's profile, for new enrollments
        var secret = TotpSecrets.Generate();
        var pending = New(userId, purpose, FactorMethods.Totp, now, totp.EnrollmentTtl, proof, label) with
        {
            TotpSecret = secrets.Seal(secret, SealContexts.TotpSecret(userId)),
            TotpAlgorithm = profile.AlgorithmName,
            TotpDigits = profile.Digits,
            TotpPeriod = profile.PeriodSeconds,
        };
        if (await StoreAsync(pending, proof, now, actor, cancellationToken) is { } refused)
        {
            return refused;
        }

        var account = string.IsNullOrWhiteSpace(accountName) ? userId : accountName.Trim();
        var uri = OtpAuthUri.Build(ProfileContext.Profile?.Brand ?? authOptions.Value.Issuer, account, secret, profile);
        var (svg, png) = QrCodes.Render(uri);
        return new PendingStarted(
            new TotpEnrollmentResponse(FactorMethods.Totp, TotpSecrets.ToBase32(secret), uri, svg, png, Timestamps.Utc(pending.ExpiresAt), pending.Id),
            null);
    }

    private async Task<Result<PendingStarted>> StartPhoneAsync(string userId, string purpose, string e164, string channel, CheckedProof? proof,
        Guid? actor, DateTimeOffset now, string? label, CancellationToken cancellationToken)
    {
        var masked = PhoneNumbers.Mask(e164);
        var phoneHash = secrets.PhoneLookupHash(e164);
        var pending = New(userId, purpose, FactorMethods.Phone, now, PhoneCodes.Validity, proof, label) with
        {
            PhoneNumber = secrets.Seal(e164, SealContexts.PhoneNumber(userId)),
            PhoneHash = phoneHash,
            PhoneMasked = masked,
            Channel = channel,
        };
        // The code's id is the pending row's, and so is the factor it is bound to: only the code sent to this number confirms
        // this enrollment. The row (and a switch's proof) is stored with the code, once it was sent.
        var sent = await delivery.DeliverAsync(new CodeSend(userId, e164, phoneHash, Channels.Parse(channel), PhoneCodes.PendingPurpose, pending.Id, pending.Id, actor,
            (connection, transaction, user, recentFailures) => StoreAsync(connection, transaction, pending, proof, user, recentFailures, now, actor)),
            now, cancellationToken);
        return sent.Error is not null
            ? sent.Error
            : new PendingStarted(null, new PhoneEnrollmentResponse(FactorMethods.Phone, masked, channel, sent.Value, pending.Id));
    }
}
