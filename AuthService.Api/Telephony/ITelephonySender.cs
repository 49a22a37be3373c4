using AuthService.Core.Phone;

namespace AuthService.Api.Telephony;

/// <summary>One code to deliver. <see cref="PhoneNumber"/> is E.164; never log it unmasked.</summary>
public sealed record CodeDelivery(string PhoneNumber, CodeChannel Channel, string Code, string Issuer);

/// <summary>What the provider answered: its message or call id, for the audit trail.</summary>
public sealed record DeliveryReceipt(string Provider, string? ProviderMessageId);

/// <summary>Delivers one-time codes by SMS or voice call.</summary>
public interface ITelephonySender
{
    /// <summary>Sends the code once. Throws <see cref="TelephonyUnavailableException"/> when the provider
    /// cannot take it; the caller then keeps no challenge so the user can simply retry.</summary>
    Task<DeliveryReceipt> SendCodeAsync(CodeDelivery delivery, CancellationToken cancellationToken);
}
