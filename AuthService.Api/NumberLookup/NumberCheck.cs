using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using Npgsql;
using Prometheus;

namespace AuthService.Api.NumberLookup;

/// <summary>
/// The number check before a code is sent (NIST SP 800-63B-4: check for a number port before sending; DESIGN §9.5, issue 25).
/// The answer for the number comes from <c>number_lookups</c> when it is younger than 24 hours, else from Telnyx Number
/// Lookup (then stored), so a number costs at most one lookup a day on any number of instances (two racing on a stale row may
/// both look it up). Then the profile's policy: a VoIP number is refused by <c>Refuse</c> on both channels and by
/// <c>CallOnly</c> for SMS; a number ported within the port window is refused. A refusal is 403 <c>number_risk</c>, audited
/// (webhook <c>two_factor.number_risk</c>). The check runs once the budgets have reserved the delivery (a send they refuse costs
/// no lookup); a refusal from the cache gives the reservation back, while one that took a paid lookup keeps it, so each lookup
/// counts against the budgets like the request it was (<c>PhoneDeliveries.CheckNumberAsync</c>): new numbers cannot be looked
/// up without limit.
/// A failed lookup is audited and, by <c>NumberLookup:FailMode</c>, skipped (open) or refused with 503 (closed).
/// </summary>
public sealed partial class NumberCheck(
    NpgsqlDataSource dataSource,
    SecretBox secrets,
    NumberLookupSettings settings,
    INumberLookup lookup,
    ILogger<NumberCheck> logger)
{
    /// <summary>Lookups made, by outcome: <c>ok</c>, <c>http_error</c>, <c>timeout</c>, <c>connection_error</c>,
    /// <c>circuit_open</c>, <c>bad_answer</c>.</summary>
    public static readonly Counter Lookups = Metrics.CreateCounter("authservice_number_lookups_total",
        "Telnyx Number Lookup requests made by the number check, by outcome (ok or the failure).",
        new CounterConfiguration { LabelNames = ["outcome"] });

    /// <summary>Checks decided, by result: <c>allowed</c>, <c>refused_voip</c>, <c>refused_recent_port</c>,
    /// <c>skipped</c> (lookup failed, fail open), <c>unavailable</c> (lookup failed, fail closed); and source <c>cache</c>,
    /// <c>lookup</c>, <c>stale_cache</c> (a refresh failed, and the answer older than 24 h refuses the send) or <c>none</c>.</summary>
    public static readonly Counter Checks = Metrics.CreateCounter("authservice_number_checks_total",
        "Number checks before a code send, by result and by where the answer came from (cache, lookup, stale_cache, none).",
        new CounterConfiguration { LabelNames = ["result", "source"] });

    /// <summary>What the check decided: <see cref="Refusal"/> null when the code may be sent; <see cref="LookedUp"/> when it
    /// made a Number Lookup that Telnyx answered (and bills).</summary>
    public readonly record struct Verdict(Problem? Refusal, bool LookedUp);

    /// <summary>Whether a code may be sent to <paramref name="e164"/> on <paramref name="channel"/> under
    /// <paramref name="profile"/>, and whether deciding it took a paid lookup. A refusal's event names <paramref name="factorId"/>,
    /// the user's factor the code was for, when there is one.</summary>
    public async Task<Verdict> CheckAsync(string userId, string e164, CodeChannel channel, string profile, Guid? actor, DateTimeOffset now,
        CancellationToken cancellationToken, Guid? factorId = null)
    {
        if (!settings.Enabled)
        {
            return default;
        }

        var hash = secrets.PhoneLookupHash(e164);
        var masked = PhoneNumbers.Mask(e164);
        CachedLookup? answer;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            answer = await NumberLookupStore.FindAsync(connection, hash);
        }

        var policy = settings.For(profile);
        var source = "cache";
        if (answer is null || now - answer.LookedUpAt >= NumberLookupSettings.CacheAge)
        {
            source = "lookup";
            try
            {
                var fresh = await lookup.LookUpAsync(e164, cancellationToken);
                Lookups.WithLabels("ok").Inc();
                answer = new CachedLookup(fresh.LineType, fresh.PortedAt, now);
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await NumberLookupStore.UpsertAsync(connection, hash, answer);
            }
            catch (NumberLookupUnavailableException e)
            {
                Lookups.WithLabels(e.Reason).Inc();
                // A refresh that fails does not wipe what the last answer held against the number: a line that was VoIP, or
                // freshly ported, when it was last looked up has not become safe because Telnyx did not answer now. An answer
                // that allowed the send is no answer today: the fail mode decides, as for a number never looked up.
                if (answer is null || Refusal(policy, answer, channel, now) is null)
                {
                    return new Verdict(await UnavailableAsync(userId, channel, masked, e, actor, now), LookedUp: false);
                }

                source = "stale_cache";
            }
        }

        var reason = Refusal(policy, answer, channel, now);
        var lookedUp = source == "lookup";
        if (reason is null)
        {
            Checks.WithLabels("allowed", source).Inc();
            return new Verdict(null, lookedUp);
        }

        Checks.WithLabels("refused_" + reason, source).Inc();
        var portedAt = reason == "recent_port" ? answer.PortedAt?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) : null;
        await AppendAsync(userId, new AuditEvent.NumberRisk(reason, channel.ToWire(), masked, answer.LineType, profile, portedAt, factorId), now, actor);
        LogRefused(logger, channel.ToWire(), masked, reason, profile);
        return new Verdict(NumberLookupProblems.Risk(reason, channel, policy.RecentPortDays), lookedUp);
    }

    /// <summary><c>voip</c>, <c>recent_port</c> or null (allowed).</summary>
    public static string? Refusal(NumberRiskPolicy policy, CachedLookup answer, CodeChannel channel, DateTimeOffset now)
    {
        var voip = answer.LineType == LookupAnswer.Voip;
        if (voip && (policy.Voip == VoipPolicy.Refuse || (policy.Voip == VoipPolicy.CallOnly && channel == CodeChannel.Sms)))
        {
            return "voip";
        }

        // Ported within the last N days: on the move's day and the N − 1 after it (UTC dates; Telnyx's ported_date has no zone).
        // The refusal tells the user codes go to the number again N days after the move, and on that day they do.
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        return policy.RecentPortDays > 0 && answer.PortedAt is { } ported && ported > today.AddDays(-policy.RecentPortDays)
            ? "recent_port"
            : null;
    }

    private async Task<Problem?> UnavailableAsync(string userId, CodeChannel channel, string masked, NumberLookupUnavailableException failure,
        Guid? actor, DateTimeOffset now)
    {
        var reason = failure.Reason;
        await AppendAsync(userId, new AuditEvent.NumberCheckUnavailable(channel.ToWire(), masked, settings.FailMode, reason), now, actor);
        Checks.WithLabels(settings.FailOpen ? "skipped" : "unavailable", "none").Inc();
        LogUnavailable(logger, channel.ToWire(), masked, reason, settings.FailMode);
        return settings.FailOpen ? null : NumberLookupProblems.Unavailable(failure.InnerException);
    }

    private async Task AppendAsync(string userId, AuditEvent audit, DateTimeOffset now, Guid? actor)
    {
        // Written whatever the client does now: the refusal or the skipped check happened. One statement, so the audit row and
        // its webhook event commit together (AuditLog.AppendAsync without a transaction would be two).
        await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { AuditLog.Command(userId, audit, now, actor) } };
        await batch.ExecuteNonQueryAsync(CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused to send a {Channel} code to {MaskedPhone}: number risk {Reason} (profile {Profile})")]
    private static partial void LogRefused(ILogger logger, string channel, string maskedPhone, string reason, string profile);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Number check of {MaskedPhone} for a {Channel} code not made ({Reason}); fail mode {FailMode}")]
    private static partial void LogUnavailable(ILogger logger, string channel, string maskedPhone, string reason, string failMode);
}
