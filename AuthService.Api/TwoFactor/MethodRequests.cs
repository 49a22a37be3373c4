using AuthService.Api.Http;
using AuthService.Core.Factors;
using AuthService.Core.Phone;

namespace AuthService.Api.TwoFactor;

/// <summary>The checks of a requested method (enroll and switch alike), made before anything is stored, sent or counted.</summary>
public sealed class MethodRequests(PhoneDeliveries deliveries)
{
    public static readonly Problem BadChannel = Problems.Validation("channel must be 'sms' or 'call'.");

    /// <summary>The request's shape (method, label, phone number, channel), then for a phone the destination policy of
    /// DESIGN §8.2 (<see cref="PhoneDeliveries.CheckDestination"/>): a refused type or country is refused here.</summary>
    public Problem? Check(string? method, string? accountName, string? phoneNumber, string? channel) =>
        ShapeProblem(method, accountName, phoneNumber, channel)
        ?? (method == FactorMethods.Phone ? deliveries.CheckDestination(PhoneNumbers.Parse(phoneNumber).E164!, Channels.Parse(channel)) : null);

    private static Problem? ShapeProblem(string? method, string? accountName, string? phoneNumber, string? channel)
    {
        switch (method)
        {
            case FactorMethods.Totp:
                return accountName is not null && !Core.Text.PrintableText.IsValid(accountName, 256)
                    ? Problems.Validation("accountName must be at most 256 characters without control characters.")
                    : null;
            case FactorMethods.Phone:
                if (!Channels.IsPhone(channel))
                {
                    return BadChannel;
                }

                var parsed = PhoneNumbers.Parse(phoneNumber);
                return parsed.IsValid
                    ? null
                    : new Problem(400, ProblemCodes.InvalidPhoneNumber, "The phone number is invalid.",
                        $"phoneNumber must be a valid number in E.164 form, e.g. +13035550123 ({parsed.Error}).");
            default:
                return Problems.Validation("method must be 'totp', 'phone' or 'passkey'.");
        }
    }
}
