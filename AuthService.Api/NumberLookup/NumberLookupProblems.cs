using AuthService.Api.Http;
using AuthService.Core.Factors;
using AuthService.Core.Phone;

namespace AuthService.Api.NumberLookup;

/// <summary>The answers of the number check (issue 25).</summary>
public static class NumberLookupProblems
{
    /// <summary>403 <c>number_risk</c>: nothing was sent; counted against the budgets only when the check took a paid lookup
    /// (<c>PhoneDeliveries.CheckNumberAsync</c>).</summary>
    public static Problem Risk(string reason, CodeChannel channel, int recentPortDays) => new(403, ProblemCodes.NumberRisk,
        "Codes cannot be sent to this number.",
        reason == "voip"
            ? $"This number is a VoIP line, which does not receive codes by {channel.ToWire()} here (reason voip). Use a mobile number or another method."
            : $"This number was moved to another carrier within the last {recentPortDays} days (reason recent_port); codes go to it again " +
              $"{recentPortDays} days after the move. Use another number or method.");

    /// <summary>503 <c>number_lookup_unavailable</c> (FailMode closed): nothing was sent or counted. Retry-After 30 s, or until
    /// Telnyx's open circuit may close (<see cref="Telephony.CircuitWait"/>).</summary>
    public static Problem Unavailable(Exception? failure) => new(503, ProblemCodes.NumberLookupUnavailable, "The number cannot be checked right now.",
        "The service checks a number before sending a code to it, and the check is unavailable. Nothing was sent; try again shortly.",
        Telephony.CircuitWait.Seconds(failure, NumberLookupSettings.RetryAfterSeconds));
}
