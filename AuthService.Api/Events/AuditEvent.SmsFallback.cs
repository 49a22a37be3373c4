using System.Text.Json.Serialization;

namespace AuthService.Api.Events;

/// <summary>The event name of the SmsThenCall fallback (DESIGN §9.5).</summary>
public static partial class AuditEvents
{
    public const string SmsFailed = "sms_failed";
}

/// <summary>The events of the SmsThenCall fallback (DESIGN §9.5): never the code, the text or the number.</summary>
public abstract partial record AuditEvent
{
    /// <summary>Telnyx reported (signed <c>message.finalized</c>) that the SMS carrying a code of <paramref name="Purpose"/>
    /// failed with <paramref name="Status"/> (<c>sending_failed</c>, <c>delivery_failed</c>); <paramref name="FallbackOffered"/>
    /// is <c>call</c> when a call is offered (the code was still live), else null. Webhook <c>two_factor.sms_failed</c>.</summary>
    public sealed record SmsFailed(
        string Purpose,
        string Status,
        string ProviderMessageId,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? FallbackOffered = null)
        : AuditEvent(AuditEvents.SmsFailed);
}
