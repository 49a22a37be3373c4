using AuthService.Core.Phone;

namespace AuthService.Api.Telephony;

/// <summary>One code to deliver. <see cref="PhoneNumber"/> is E.164; never log it unmasked. <see cref="SmsText"/> and
/// <see cref="VoiceTexml"/> are the words in the profile's brand and the chosen locale; without them the English text of
/// <see cref="CodeMessages"/> with <see cref="Issuer"/>.</summary>
public sealed record CodeDelivery(string PhoneNumber, CodeChannel Channel, string Code, string Issuer, string? SmsText = null, string? VoiceTexml = null)
{
    public string Sms => SmsText ?? CodeMessages.Sms(Issuer, Code);

    public string Texml => VoiceTexml ?? CodeMessages.VoiceTexml(Issuer, Code);
}

/// <summary>What the provider answered: its message or call id, for the audit trail.</summary>
public sealed record DeliveryReceipt(string Provider, string? ProviderMessageId);

/// <summary>Delivers one-time codes by SMS or voice call.</summary>
public interface ITelephonySender
{
    /// <summary>Sends the code once. Throws <see cref="TelephonyUnavailableException"/> when the provider
    /// cannot take it; the caller then keeps no challenge so the user can simply retry.</summary>
    Task<DeliveryReceipt> SendCodeAsync(CodeDelivery delivery, CancellationToken cancellationToken);

    /// <summary>The longest a send can take, retries included (Telnyx: <c>Telephony:Telnyx:Resilience:TotalTimeout</c>).</summary>
    TimeSpan LongestSend { get; }
}
