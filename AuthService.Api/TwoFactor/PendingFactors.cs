using AuthService.Api.Configuration;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using AuthService.Core.Totp;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts a pending enrollment or switch (<see cref="PendingPurposes"/>) with a TOTP secret or a phone code; the
/// request was validated by <see cref="MethodRequests"/>. A passkey pending row is started by its own ceremony.</summary>
public sealed class PendingFactors(NpgsqlDataSource dataSource, SecretBox secrets, PhoneCodeDelivery delivery, IOptions<AuthOptions> authOptions,
    IOptions<TotpOptions> totpOptions)
{
    public Task<Result<PendingStarted>> StartAsync(string userId, string purpose, string method, string? accountName, string? phoneNumber,
        string? channel, Guid? actor, DateTimeOffset now, CancellationToken cancellationToken) =>
        method == FactorMethods.Totp
            ? StartTotpAsync(userId, purpose, accountName, actor, now, cancellationToken)
            : StartPhoneAsync(userId, purpose, PhoneNumbers.Parse(phoneNumber).E164!, channel!, actor, now, cancellationToken);

    public static PendingRow New(string userId, string purpose, string method, DateTimeOffset now, TimeSpan ttl) => new()
    {
        UserId = userId,
        Id = Guid.CreateVersion7(now),
        Purpose = purpose,
        Method = method,
        CreatedAt = now.UtcDateTime,
        ExpiresAt = (now + ttl).UtcDateTime,
    };

    public static string StartedEvent(string purpose) => purpose == PendingPurposes.Enroll ? AuditEvents.EnrollmentStarted : AuditEvents.MethodSwitchStarted;

    private async Task<Result<PendingStarted>> StartTotpAsync(string userId, string purpose, string? accountName, Guid? actor, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var totp = totpOptions.Value;
        var profile = totp.Profile;
        var secret = TotpSecrets.Generate();
        var pending = New(userId, purpose, FactorMethods.Totp, now, totp.EnrollmentTtl) with
        {
            TotpSecret = secrets.Seal(secret, SealContexts.TotpSecret(userId)),
            TotpAlgorithm = profile.AlgorithmName,
            TotpDigits = profile.Digits,
            TotpPeriod = profile.PeriodSeconds,
        };
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await TwoFactorStore.UpsertPendingAsync(connection, transaction, pending);
            await PhoneCodeStore.DeleteCodesAsync(connection, transaction, userId, PhoneCodes.PendingPurpose);
            await AuditLog.AppendAsync(connection, transaction, userId, StartedEvent(purpose), now, actor, new { method = FactorMethods.Totp });
            await transaction.CommitAsync(cancellationToken);
        }

        var label = string.IsNullOrWhiteSpace(accountName) ? userId : accountName.Trim();
        var uri = OtpAuthUri.Build(authOptions.Value.Issuer, label, secret, profile);
        var (svg, png) = QrCodes.Render(uri);
        return new PendingStarted(
            new TotpEnrollmentResponse(FactorMethods.Totp, TotpSecrets.ToBase32(secret), uri, svg, png, Timestamps.Utc(pending.ExpiresAt)), null);
    }

    private async Task<Result<PendingStarted>> StartPhoneAsync(string userId, string purpose, string e164, string channel, Guid? actor,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var masked = PhoneNumbers.Mask(e164);
        var phoneHash = secrets.PhoneLookupHash(e164);
        var pending = New(userId, purpose, FactorMethods.Phone, now, PhoneCodes.Validity) with
        {
            PhoneNumber = secrets.Seal(e164, SealContexts.PhoneNumber(userId)),
            PhoneHash = phoneHash,
            PhoneMasked = masked,
            Channel = channel,
        };
        // The code's id is the pending row's: only the code sent to this number confirms this enrollment.
        var sent = await delivery.DeliverAsync(new CodeSend(userId, e164, phoneHash, channel, PhoneCodes.PendingPurpose, pending.Id, actor,
            async (connection, transaction) =>
            {
                await TwoFactorStore.UpsertPendingAsync(connection, transaction, pending);
                await AuditLog.AppendAsync(connection, transaction, userId, StartedEvent(purpose), now, actor,
                    new { method = FactorMethods.Phone, phoneNumber = masked, channel });
            }), now, cancellationToken);
        return sent.Error is not null ? sent.Error : new PendingStarted(null, new PhoneEnrollmentResponse(FactorMethods.Phone, masked, channel, sent.Value));
    }
}
