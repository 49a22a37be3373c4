using System.Text.Json.Serialization;

namespace AuthService.Api.Events;

/// <summary>The event names of the number check before sending (DESIGN §9.5, issue 25).</summary>
public static partial class AuditEvents
{
    public const string NumberRisk = "number_risk";
    public const string NumberCheckUnavailable = "number_check_unavailable";
}

/// <summary>The events of the number check: the masked number only, never the number in clear.</summary>
public abstract partial record AuditEvent
{
    /// <summary>A code was not sent: the number's line type or a recent port made the profile refuse it (webhook
    /// <c>two_factor.number_risk</c>). <paramref name="Reason"/> is <c>voip</c> or <c>recent_port</c>;
    /// <paramref name="PortedAt"/> the port date (yyyy-MM-dd) when the reason is a port; <paramref name="FactorId"/> the user's
    /// factor the code was for (a challenge), null for a number being enrolled or added.</summary>
    public sealed record NumberRisk(string Reason, string Channel, string PhoneNumber, string LineType, string Profile, string? PortedAt,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.NumberRisk);

    /// <summary>Number Lookup failed (<paramref name="Reason"/>: <c>http_error</c>, <c>timeout</c>, <c>connection_error</c>,
    /// <c>circuit_open</c>, <c>bad_answer</c>): with <c>NumberLookup:FailMode</c> <c>open</c> the code was sent without the
    /// check, with <c>closed</c> it was refused (503 <c>number_lookup_unavailable</c>).</summary>
    public sealed record NumberCheckUnavailable(string Channel, string PhoneNumber, string FailMode, string Reason)
        : AuditEvent(AuditEvents.NumberCheckUnavailable);
}
