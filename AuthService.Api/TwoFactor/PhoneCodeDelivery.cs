using AuthService.Api.Events;
using AuthService.Api.Observability;
using AuthService.Api.Profiles;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.Telephony;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>What is sent, to whom, for which factor (or pending row) and purpose, what must still hold when the code is
/// stored (<see cref="Bind"/>), and when the request's claim lapses (<see cref="ClaimLapsesAt"/>: its Idempotency-Key's, or the
/// user's claim for a change proved by a code, <see cref="PendingFactors.ClaimedAsync{T}"/>; null without either).</summary>
public sealed record CodeSend(string UserId, string E164, byte[] PhoneHash, CodeChannel Channel, string Purpose, Guid CodeId, Guid FactorId, Guid? Actor,
    CodeBinding Bind, DateTimeOffset? ClaimLapsesAt = null);

/// <summary>Run under the user's lock in the transaction that stores a sent code, with the user's factor and recent failures as
/// they are at that moment: null when the code may be stored — the factor it was sent for is still the user's, unchanged, and
/// whatever goes with the code (a pending row, a spent proof) is written — else the refusal; then the code is not stored and
/// only the refusal's own rows are kept (DESIGN §9.1: no code outlives its factor).</summary>
public delegate Task<Problem?> CodeBinding(NpgsqlConnection connection, NpgsqlTransaction transaction, UserFactors? user,
    IReadOnlyList<DateTimeOffset> recentFailures);

/// <summary>Delivering a phone code as one unit: check the destination, reserve a delivery against the budgets and caps
/// (<see cref="PhoneDeliveries"/>), send it, then store the code under the user's lock, only if what it was sent for still
/// holds (<see cref="CodeSend.Bind"/>). A send that surely failed stores nothing and gives the reservation back (not when the
/// request took a paid number lookup: that counts like a send), so the user can simply retry; a send whose outcome is unknown stays counted and its code is stored (it works if the message arrives),
/// and the client is told <c>telephony_outcome_unknown</c>. A code whose factor was switched or reset during the send is
/// counted (it was sent) but never stored.</summary>
public sealed class PhoneCodeDelivery(NpgsqlDataSource dataSource, PhoneDeliveries deliveries, SecretBox secrets, VerifyProfiles profiles,
    NumberLookup.NumberCheck numberCheck, TimeProvider time, ILogger<PhoneCodeDelivery> logger)
{
    /// <summary>How long a code sent now in this request is valid: the caller key's profile's validity (DESIGN §9.5).</summary>
    public TimeSpan Validity => profiles.Current().Validity;

    /// <summary>When the code expires, or the refusal.</summary>
    public async Task<Result<DateTimeOffset>> DeliverAsync(CodeSend send, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (deliveries.CheckDestination(send.E164, send.Channel) is { } refused)
        {
            return refused; // DESIGN §8.2: before anything is reserved or sent
        }

        var profile = profiles.Current(); // DESIGN §9.5: the caller key's brand, code length, validity, countries, locale
        if (ProfileSends.CheckDestination(profile, send.E164, send.Channel) is { } offProfile)
        {
            return offProfile;
        }

        var masked = PhoneNumbers.Mask(send.E164);
        var channel = send.Channel.ToWire();
        // A code for one of the user's factors names it in what a refusal records; a pending row's id names nothing the user has.
        var request = new SendRequest(send.UserId, send.E164, send.PhoneHash, send.Channel, send.Actor,
            send.Purpose == PhoneCodes.PendingPurpose ? null : send.FactorId);
        var reserved = await deliveries.ReserveAsync(request, now, cancellationToken);
        if (reserved.Error is not null)
        {
            return reserved.Error;
        }

        // Issue 25: the number's line type and ports (Telnyx Number Lookup, cached a day), after the budgets (a request they refuse
        // costs no lookup) and before the send; a number refused from the cache gives its reservation back, one refused on a paid
        // lookup keeps it (PhoneDeliveries.CheckNumberAsync), and so does a send that fails after a paid lookup: a request that
        // cost a lookup counts like a send, or failing sends (a call where voice is not set up) would buy lookups without limit.
        var number = await deliveries.CheckNumberAsync(numberCheck, request, profile.Name, reserved.Value, now);
        if (number.Refusal is { } risky)
        {
            return risky;
        }

        // A request that got here so late that its claim could lapse during the send sends nothing (a retry with its key, or
        // another change taking its claim over, could send another): the reservation is given back and the claim released
        // (IdempotentRequests.MaySendBy).
        if (!IdempotentRequests.MaySendBy(send.ClaimLapsesAt, time.GetUtcNow(), deliveries.LongestSend))
        {
            if (!number.LookedUp)
            {
                await deliveries.GiveBackAsync(reserved.Value);
            }

            logger.LogWarning("Did not send a {Channel} code to {MaskedPhone}: the request's claim lapses at {LapsesAt}, too soon for a send",
                channel, masked, send.ClaimLapsesAt);
            ServiceMetrics.Deliveries.WithLabels(channel, "too_late").Inc();
            return Problems.TooLateToSend;
        }

        // From here on the client's abort no longer cancels anything: a message that may reach the provider is counted,
        // and a code that reached it is stored, so the code the person receives works (the sender has its own timeouts).
        var code = PhoneCodes.Generate(profile.CodeLength);
        DeliveryReceipt? receipt = null;
        try
        {
            receipt = await deliveries.SendAsync(
                ProfileSends.Delivery(profile, send.E164, send.Channel, code),
                CancellationToken.None);
        }
        catch (TelephonyUnavailableException e)
        {
            try
            {
                await deliveries.RecordFailureAsync(request, reserved.Value, e, now, number.LookedUp);
            }
            catch (Exception recording)
            {
                if (e.MayHaveBeenDelivered)
                {
                    IdempotentRequests.KeepClaim(recording); // as below: the message may be on its way
                }

                throw;
            }

            if (!e.MayHaveBeenDelivered)
            {
                return Problems.TelephonyUnavailable(e);
            }
        }

        if (receipt is not null)
        {
            // The provider took the message (and bills it) whether its code is then kept, discarded (below) or lost to a
            // database error: a send in every case.
            ServiceMetrics.Deliveries.WithLabels(channel, "sent").Inc();
        }

        var expiresAt = now + profile.Validity;
        Problem? unbound;
        try
        {
            unbound = await StoreAsync(send, profile, code, receipt, now, expiresAt, MayFallBackToACall(send, profile));
        }
        catch (Exception e)
        {
            // The message went out (or may have) and its code is lost: the person asks again. A retry with the same
            // Idempotency-Key must not send a second message at once, so the key's claim is kept until it lapses.
            logger.LogWarning("A {Channel} code sent to {MaskedPhone} could not be stored and will not work: {Error}", channel, masked,
                e.GetType().Name);
            IdempotentRequests.KeepClaim(e);
            throw;
        }

        if (unbound is not null)
        {
            logger.LogWarning("Discarded a {Channel} code sent to {MaskedPhone}: {Reason}", channel, masked, unbound.Code);
            return unbound;
        }

        if (receipt is null)
        {
            return TelephonyProblems.OutcomeUnknown(profile.ValidityMinutes);
        }

        logger.LogInformation("Sent {Channel} code to {MaskedPhone}", channel, masked);
        return expiresAt;
    }

    /// <summary>Whether a failed SMS of this send may offer a call (DESIGN §9.5 <c>SmsThenCall</c>): only when the profile has the
    /// fallback and a call to the number would be placed — the deployment's and the profile's call countries and number types
    /// allow it. An offer the portal's Call button would then see refused (400 <c>destination_not_allowed</c>) is no offer.
    /// Asked with the predicates, not the checks: a call this SMS will never need is no refusal to count or log.</summary>
    private bool MayFallBackToACall(CodeSend send, VerifyProfile profile) =>
        send.Channel == CodeChannel.Sms && profile.Fallback == ProfileFallbacks.SmsThenCall
        && deliveries.Reaches(send.E164, CodeChannel.Call)
        && profile.Reaches(CodeChannel.Call, send.E164);

    private const string BeforeBind = "before_bind";

    /// <summary>Stores the sent code under the user's lock if what it was sent for still holds (null), else the refusal; audits
    /// the send and remembers an SMS a fallback may follow (<paramref name="fallback"/>).</summary>
    private async Task<Problem?> StoreAsync(CodeSend send, VerifyProfile profile, string code, DeliveryReceipt? receipt, DateTimeOffset now,
        DateTimeOffset expiresAt, bool fallback)
    {
        var masked = PhoneNumbers.Mask(send.E164);
        var channel = send.Channel.ToWire();
        Problem? unbound;
        await using (var connection = await dataSource.OpenConnectionAsync(CancellationToken.None))
        await using (var transaction = await connection.BeginTransactionAsync(CancellationToken.None))
        {
            var (factor, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, send.UserId, now - AttemptLimits.Window);
            var pending = send.Purpose == PhoneCodes.PendingPurpose;
            if (pending)
            {
                await transaction.SaveAsync(BeforeBind, CancellationToken.None);
            }

            unbound = await send.Bind(connection, transaction, factor, recentFailures);
            // Not kept either when a newer code of the purpose was stored while this one was being sent: the newer one stands
            // (a new challenge kills the previous code), so this one is audited as not kept and offers no fallback call.
            var kept = unbound is null && await PhoneCodeStore.UpsertCodeAsync(connection, transaction, send.UserId, send.Purpose, send.CodeId,
                send.FactorId, channel, secrets.ActiveKeyId,
                secrets.PhoneCodeHash(secrets.ActiveKeyId, send.UserId, send.Purpose, send.CodeId, send.FactorId, code), now, expiresAt);
            if (pending && unbound is null && !kept)
            {
                // The pending row Bind stored (and the proof it spent) would wait for a code that is not kept: undone, and
                // answered as an overtaken start is (an addition started on an instance whose clock is behind another's).
                await transaction.RollbackAsync(BeforeBind, CancellationToken.None);
                unbound = Problems.PendingOvertaken;
            }

            if (receipt is not null)
            {
                await AuditLog.AppendAsync(connection, transaction, send.UserId, new AuditEvent.CodeSent(channel, send.Purpose, masked,
                    receipt.Provider, receipt.ProviderMessageId, Kept: kept, FactorId: send.FactorId), now, send.Actor);
                if (kept && fallback && receipt.ProviderMessageId is { } messageId)
                {
                    // DESIGN §9.5: Telnyx's report on this message id may offer a call (SmsFallback/SmsDeliveryReports)
                    if (await SmsDeliveryStore.RememberAsync(connection, transaction, messageId, send.UserId, send.Purpose, send.CodeId, profile.Name, now)
                        is { } reportedEarly)
                    {
                        // Telnyx reported the SMS failed before this transaction remembered it: the report is applied now.
                        await SmsFallback.SmsDeliveryReports.ApplyAsync(connection, transaction, messageId, reportedEarly, now);
                    }
                }
            }

            await transaction.CommitAsync(CancellationToken.None);
        }

        return unbound;
    }
}
