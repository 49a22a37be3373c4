using AuthService.Api.Http;
using AuthService.Api.Observability;
using AuthService.Api.Telephony;
using AuthService.Core.Factors;
using AuthService.Core.Phone;

namespace AuthService.Api.Profiles;

/// <summary>What a verify profile adds to a code send (DESIGN §9.5): its own country lists (within the deployment's, checked
/// first by <c>PhoneDeliveries.CheckDestination</c>), and the words — brand, code length, validity, domain — in the locale
/// chosen for this number (<see cref="VerifyProfile.LocaleFor"/>: asked, else by country, else the default).</summary>
public static class ProfileSends
{
    /// <summary>400 <c>destination_not_allowed</c> when the profile does not let this channel reach the number's country.</summary>
    public static Problem? CheckDestination(VerifyProfile profile, string e164, CodeChannel channel)
    {
        if (profile.Reaches(channel, e164))
        {
            return null;
        }

        var country = DestinationPolicy.CountryOf(e164);
        TelephonyMetrics.Count(TelephonyMetrics.Blocked, "profile_country", country);
        return TelephonyProblems.DestinationNotAllowed(channel.ToWire(), $"country {country} is not enabled for {channel.ToWire()} in this profile");
    }

    /// <summary>The delivery with the profile's words in the chosen locale.</summary>
    public static CodeDelivery Delivery(VerifyProfile profile, string e164, CodeChannel channel, string code)
    {
        var locale = profile.LocaleFor(ProfileContext.AskedLocale, e164);
        return channel == CodeChannel.Sms
            ? new CodeDelivery(e164, channel, code, profile.Brand, SmsText: profile.Sms(locale, code))
            : new CodeDelivery(e164, channel, code, profile.Brand, VoiceTexml: profile.VoiceTexml(locale, code));
    }
}
