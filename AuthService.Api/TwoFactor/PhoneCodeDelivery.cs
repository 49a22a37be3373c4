using AuthService.Api.Configuration;
using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.Telephony;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>What is sent, to whom, and what is stored with the code when it was sent.</summary>
public sealed record CodeSend(string UserId, string E164, byte[] PhoneHash, string Channel, string Purpose, Guid CodeId, Guid? Actor,
    Func<NpgsqlConnection, NpgsqlTransaction, Task>? AlsoStore = null);

/// <summary>Delivering a phone code as one unit: check the destination, reserve a delivery against the budgets and caps
/// (<see cref="PhoneDeliveries"/>), send it, then store the code. A send that surely failed stores nothing and gives the
/// reservation back, so the user can simply retry; a send whose outcome is unknown stays counted and its code is stored (it
/// works if the message arrives), and the client is told <c>telephony_outcome_unknown</c>.</summary>
public sealed class PhoneCodeDelivery(NpgsqlDataSource dataSource, PhoneDeliveries deliveries, SecretBox secrets, IOptions<AuthOptions> authOptions,
    ILogger<PhoneCodeDelivery> logger)
{
    /// <summary>When the code expires, or the refusal.</summary>
    public async Task<Result<DateTimeOffset>> DeliverAsync(CodeSend send, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (deliveries.CheckDestination(send.E164, send.Channel) is { } refused)
        {
            return refused; // DESIGN §8.2: before anything is reserved or sent
        }

        var masked = PhoneNumbers.Mask(send.E164);
        var request = new SendRequest(send.UserId, send.E164, send.PhoneHash, send.Channel, send.Actor);
        var reserved = await deliveries.ReserveAsync(request, now, cancellationToken);
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
                new CodeDelivery(send.E164, send.Channel == Channels.Call ? DeliveryChannel.Call : DeliveryChannel.Sms, code, authOptions.Value.Issuer),
                CancellationToken.None);
        }
        catch (TelephonyUnavailableException e)
        {
            await deliveries.RecordFailureAsync(request, reserved.Value, e, now);
            if (!e.MayHaveBeenDelivered)
            {
                return Problems.TelephonyUnavailable(e.Transient);
            }
        }

        var expiresAt = now + PhoneCodes.Validity;
        await using (var connection = await dataSource.OpenConnectionAsync(CancellationToken.None))
        await using (var transaction = await connection.BeginTransactionAsync(CancellationToken.None))
        {
            await PhoneCodeStore.UpsertCodeAsync(connection, transaction, send.UserId, send.Purpose, send.CodeId, send.Channel, secrets.ActiveKeyId,
                secrets.PhoneCodeHash(secrets.ActiveKeyId, send.UserId, send.Purpose, send.CodeId, code), now, expiresAt);
            if (send.AlsoStore is not null)
            {
                await send.AlsoStore(connection, transaction);
            }

            if (receipt is not null)
            {
                await AuditLog.AppendAsync(connection, transaction, send.UserId, AuditEvents.CodeSent, now, send.Actor, new
                {
                    channel = send.Channel, purpose = send.Purpose, phoneNumber = masked, provider = receipt.Provider,
                    providerMessageId = receipt.ProviderMessageId,
                });
            }

            await transaction.CommitAsync(CancellationToken.None);
        }

        if (receipt is null)
        {
            return TelephonyProblems.OutcomeUnknown;
        }

        logger.LogInformation("Sent {Channel} code to {MaskedPhone}", send.Channel, masked);
        ServiceMetrics.Deliveries.WithLabels(send.Channel, "sent").Inc();
        return expiresAt;
    }
}
