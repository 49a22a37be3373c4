using AuthService.Api.Events;
using AuthService.Core.Factors;
using AuthService.Api.Configuration;
using AuthService.Api.Observability;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.Telephony;
using AuthService.Core.Phone;
using AuthService.Core.Policy;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>One code send to reserve: who asks, to which number, on which channel, and the user's factor it is for (null for
/// a number being enrolled or added: its pending row is kept only once the code was sent, so a refusal names no factor).</summary>
public sealed record SendRequest(string UserId, string E164, byte[] PhoneHash, CodeChannel Channel, Guid? Actor, Guid? FactorId = null);

/// <summary>
/// The send path's abuse and cost controls (DESIGN §4 budgets, §8.2): the destination filter, the per-user and per-number
/// daily budgets, the unconfirmed-number budget and the deployment-wide caps are decided in one transaction that
/// reserves the delivery, under advisory locks (user, number, then the caps lock), so they hold exactly on any number
/// of instances. Then the provider is called once; a reservation is given back only when nothing can have been sent.
/// </summary>
public sealed partial class PhoneDeliveries(
    NpgsqlDataSource dataSource,
    ITelephonySender telephony,
    TelephonyControls controls,
    IOptions<LimitsOptions> limits,
    ILogger<PhoneDeliveries> logger)
{
    /// <summary>Whether <see cref="CheckDestination"/> would let <paramref name="codeChannel"/> reach the number, asked without
    /// refusing anything: no metric, no log line (a question about a send nobody asked for, such as a fallback call).</summary>
    public bool Reaches(string e164, CodeChannel codeChannel) => controls.Destinations.Check(e164, codeChannel).Allowed;

    /// <summary>Refuses premium-rate, satellite and other toll-fraud destinations, and countries off the channel's
    /// allow-list, before anything is sent or counted.</summary>
    public Problem? CheckDestination(string e164, CodeChannel codeChannel)
    {
        var decision = controls.Destinations.Check(e164, codeChannel);
        if (decision.Allowed)
        {
            return null;
        }

        var channel = codeChannel.ToWire();
        var (reason, why) = decision.Refusal switch
        {
            DestinationRefusal.Country => ("country", $"country {decision.Country} is not enabled for {channel}"),
            DestinationRefusal.NonGeographic => ("non_geographic", "non-geographic (satellite or global) numbers are not accepted"),
            _ => ("number_type", $"numbers of type {decision.NumberType.ToLowerInvariant().Replace('_', '-')} are not accepted"),
        };
        TelephonyMetrics.Count(TelephonyMetrics.Blocked, reason, decision.Country);
        LogDestinationRefused(logger, channel, PhoneNumbers.Mask(e164), decision.NumberType, decision.Country);
        return TelephonyProblems.DestinationNotAllowed(channel, why);
    }

    /// <summary>Reserves one delivery against every budget and cap, atomically; the delivery id, or the problem that
    /// refused it (429 <c>daily_limit_exceeded</c>, 503 <c>telephony_capped</c>).</summary>
    public async Task<Result<long>> ReserveAsync(SendRequest send, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Far below the caps reservations share the caps lock; one that is not far below them starts again, taking the
        // lock exclusively (DeliveryLedger.ReserveUnderCapsAsync).
        return await TryReserveAsync(send, now, exclusive: false, cancellationToken)
               ?? (await TryReserveAsync(send, now, exclusive: true, cancellationToken))!.Value;
    }

    private async Task<Result<long>?> TryReserveAsync(SendRequest send, DateTimeOffset now, bool exclusive, CancellationToken cancellationToken)
    {
        var masked = PhoneNumbers.Mask(send.E164);
        var channel = send.Channel.ToWire();
        var country = DestinationPolicy.CountryOf(send.E164);
        var dailyRequests = limits.Value.DailyRequests;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await DeliveryLedger.LockAsync(connection, transaction, "deliveries-user", send.UserId);
        await DeliveryLedger.LockAsync(connection, transaction, "deliveries-phone", Convert.ToHexString(send.PhoneHash));

        // A number the requester has not confirmed draws on its small "unconfirmed" budget, never on its owner's.
        var confirmed = await DeliveryLedger.HasConfirmedAsync(connection, transaction, send.UserId, send.PhoneHash);
        var byUser = RollingWindow.Check(
            await DeliveryLedger.DeliveriesSinceAsync(connection, transaction, send.UserId, null, now - DeliveryWindows.Day),
            dailyRequests, DeliveryWindows.Day, now);
        var byNumber = RollingWindow.Check(
            await DeliveryLedger.NumberDeliveriesSinceAsync(connection, transaction, send.PhoneHash, confirmed, now - DeliveryWindows.Day),
            confirmed ? dailyRequests : controls.UnconfirmedNumberDaily, DeliveryWindows.Day, now);
        if (!byUser.Allowed || !byNumber.Allowed)
        {
            var scope = !byUser.Allowed ? "user" : confirmed ? "phone_number" : "unconfirmed_phone_number";
            var retry = Math.Max(byUser.Allowed ? 0 : byUser.RetryAfterSeconds, byNumber.Allowed ? 0 : byNumber.RetryAfterSeconds);
            await AuditLog.AppendAsync(connection, transaction, send.UserId,
                new AuditEvent.RateLimited(confirmed || !byUser.Allowed ? "daily_requests" : "unconfirmed_number_daily", scope, masked, channel,
                    send.FactorId),
                now, send.Actor);
            await transaction.CommitAsync(cancellationToken);
            ServiceMetrics.Deliveries.WithLabels(channel, "rate_limited").Inc();
            ServiceMetrics.LimitHits.WithLabels(confirmed || !byUser.Allowed ? "daily_requests" : "unconfirmed_number_daily").Inc();
            TelephonyMetrics.Count(TelephonyMetrics.Blocked,
                !byUser.Allowed ? "user_daily" : confirmed ? "number_daily" : "unconfirmed_number_daily", country);
            return Problems.DailyLimit(retry);
        }

        // The deployment-wide caps: one lock for the whole deployment, held for one round trip and the commit; shared (no
        // waiting) on the first try, which reserves only far below the caps; exclusive on the second.
        var shared = !exclusive;
        var (daily, countryHourly, id) = await DeliveryLedger.ReserveUnderCapsAsync(connection, transaction, send.UserId, send.PhoneHash,
            send.Channel, confirmed, country, now, controls.DailyCap, controls.CountryHourlyCap, controls.EnforceCaps, shared);
        if (shared && id is null)
        {
            await transaction.RollbackAsync(cancellationToken);
            return null; // not far below a cap: decide again under the exclusive lock
        }

        var cap = daily >= controls.DailyCap ? "daily_cap" : countryHourly >= controls.CountryHourlyCap ? "country_hourly_cap" : null;
        // Each cap's gauge says whether this send found that cap reached, both at once when both are (the audit event and the
        // answer name the daily cap then).
        TelephonyMetrics.CapReached.WithLabels("daily").Set(daily >= controls.DailyCap ? 1 : 0);
        TelephonyMetrics.CapReached.WithLabels("country_hourly").Set(countryHourly >= controls.CountryHourlyCap ? 1 : 0);
        if (cap is null)
        {
            await transaction.CommitAsync(cancellationToken);
            TelephonyMetrics.Count(TelephonyMetrics.Allowed, "ok", country);
            return id!.Value;
        }

        var limit = cap == "daily_cap" ? controls.DailyCap : controls.CountryHourlyCap;
        var count = cap == "daily_cap" ? daily : countryHourly;
        // When both caps are reached, a send waits for room under both: the later of the two times (Retry-After is the real wait).
        var roomAt = now;
        if (daily >= controls.DailyCap)
        {
            roomAt = await DeliveryLedger.RoomAtAsync(connection, transaction, null, now - DeliveryWindows.Day, DeliveryWindows.Day, daily,
                controls.DailyCap);
        }

        if (countryHourly >= controls.CountryHourlyCap)
        {
            var countryRoomAt = await DeliveryLedger.RoomAtAsync(connection, transaction, country, now - DeliveryWindows.Hour, DeliveryWindows.Hour,
                countryHourly, controls.CountryHourlyCap);
            roomAt = countryRoomAt > roomAt ? countryRoomAt : roomAt;
        }

        await AuditLog.AppendAsync(connection, transaction, send.UserId,
            new AuditEvent.TelephonyCapped(cap, limit, count, country, controls.Mode, channel, masked), now, send.Actor);
        await transaction.CommitAsync(cancellationToken);
        LogCapReached(logger, cap, count, limit, country, controls.Mode, channel);
        if (id is { } monitored)
        {
            TelephonyMetrics.Count(TelephonyMetrics.Allowed, cap, country); // monitor mode: sent, counted and alerted
            return monitored;
        }

        TelephonyMetrics.Count(TelephonyMetrics.Blocked, cap, country);
        ServiceMetrics.Deliveries.WithLabels(channel, "capped").Inc();
        return TelephonyProblems.Capped(RetryDelay.Seconds(roomAt - now));
    }

    /// <summary>The number check (issue 25) of a reserved delivery: null to send, else the refusal. A refusal decided from the
    /// cache, or without an answer, gives the reservation back (so does a check that throws); one decided on a fresh lookup keeps
    /// it: the lookup is paid for, and a request that costs one counts against the user's and the number's budgets and the caps
    /// like a send, so a caller cannot have new numbers looked up without limit. It runs whatever the client does now, like the
    /// send.</summary>
    public async Task<NumberLookup.NumberCheck.Verdict> CheckNumberAsync(NumberLookup.NumberCheck check, SendRequest send, string profile,
        long deliveryId, DateTimeOffset now)
    {
        NumberLookup.NumberCheck.Verdict verdict;
        try
        {
            verdict = await check.CheckAsync(send.UserId, send.E164, send.Channel, profile, send.Actor, now, CancellationToken.None, send.FactorId);
        }
        catch
        {
            await GiveBackAsync(deliveryId);
            throw;
        }

        if (verdict.Refusal is not null && !verdict.LookedUp)
        {
            await GiveBackAsync(deliveryId);
        }

        return verdict;
    }

    /// <summary>Gives a reservation back: nothing was sent for it.</summary>
    public async Task GiveBackAsync(long deliveryId)
    {
        await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
        await DeliveryLedger.RefundAsync(connection, deliveryId);
    }

    /// <summary>The longest the provider's send can take, retries included.</summary>
    public TimeSpan LongestSend => telephony.LongestSend;

    /// <summary>Calls the provider once (its pipeline retries only where nothing can have been sent).</summary>
    public Task<DeliveryReceipt> SendAsync(CodeDelivery delivery, CancellationToken cancellationToken) =>
        telephony.SendCodeAsync(delivery, cancellationToken);

    /// <summary>Records a failed send: the reservation is given back only when the provider surely did not take the
    /// message and the request cost no paid lookup (<paramref name="lookedUp"/>); a send that may have gone out stays counted
    /// (an attacker cannot pump messages through provider errors), and so does a lookup (nor lookups through failing sends).
    /// The refund and the <c>code_send_failed</c> event commit together: a failure of either keeps the reservation, as a
    /// crash before this point would.</summary>
    public async Task RecordFailureAsync(SendRequest send, long deliveryId, TelephonyUnavailableException failure, DateTimeOffset now,
        bool lookedUp = false)
    {
        var channel = send.Channel.ToWire();
        await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        if (!failure.MayHaveBeenDelivered && !lookedUp)
        {
            await DeliveryLedger.RefundAsync(connection, deliveryId, transaction);
        }

        await AuditLog.AppendAsync(connection, transaction, send.UserId, new AuditEvent.CodeSendFailed(channel, PhoneNumbers.Mask(send.E164),
            failure.Transient, failure.MayHaveBeenDelivered, send.FactorId), now, send.Actor);
        await transaction.CommitAsync(CancellationToken.None);
        LogSendFailed(logger, channel, PhoneNumbers.Mask(send.E164), failure.MayHaveBeenDelivered, failure.Message);
        ServiceMetrics.Deliveries.WithLabels(channel, failure.MayHaveBeenDelivered ? "unknown" : "failed").Inc();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused to send a {Channel} code to {MaskedPhone}: number type {NumberType}, country {Country}")]
    private static partial void LogDestinationRefused(ILogger logger, string channel, string maskedPhone, string numberType, string country);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Telephony cap reached: {Cap} at {Count} of {Limit} sends (country {Country}, mode {Mode}, channel {Channel})")]
    private static partial void LogCapReached(ILogger logger, string cap, long count, int limit, string country, string mode, string channel);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Could not send {Channel} code to {MaskedPhone} (may have been delivered: {MayHaveBeenDelivered}): {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string channel, string maskedPhone, bool mayHaveBeenDelivered, string reason);
}
