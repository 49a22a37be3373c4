namespace AuthService.Api.Telephony;

/// <summary>How a phone code reaches the user: the portal's *SMS* and *Call* buttons.</summary>
public enum DeliveryChannel
{
    Sms,
    Call,
}

/// <summary>One code to deliver. <see cref="PhoneNumber"/> is E.164; never log it unmasked.</summary>
public sealed record CodeDelivery(string PhoneNumber, DeliveryChannel Channel, string Code, string Issuer);

/// <summary>What the provider answered: its message or call id, for the audit trail.</summary>
public sealed record DeliveryReceipt(string Provider, string? ProviderMessageId);

/// <summary>Delivers one-time codes by SMS or voice call.</summary>
public interface ITelephonySender
{
    /// <summary>Sends the code once. Throws <see cref="TelephonyUnavailableException"/> when the provider
    /// cannot take it; the caller then keeps no challenge so the user can simply retry.</summary>
    Task<DeliveryReceipt> SendCodeAsync(CodeDelivery delivery, CancellationToken cancellationToken);
}

/// <summary>The provider refused, failed or timed out. <see cref="Transient"/> says whether a later
/// retry may succeed (maps to 503) or the request itself was rejected (maps to 502).</summary>
public sealed class TelephonyUnavailableException(string message, bool transient, Exception? inner = null, bool mayHaveBeenDelivered = false)
    : Exception(message, inner)
{
    public bool Transient { get; } = transient;

    /// <summary>The provider may have taken the message before failing (a timeout, 500/502/504): the delivery
    /// still counts against the daily budget, so an attacker cannot pump messages through provider errors.</summary>
    public bool MayHaveBeenDelivered { get; } = mayHaveBeenDelivered;
}
