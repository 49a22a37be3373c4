using AuthService.Core.Phone;
using AuthService.Core.Totp;

namespace AuthService.Api.Profiles;

/// <summary>What a profile's fallback does when an SMS fails: nothing, or offer a call (<c>SmsFallback/SmsDeliveryReports</c>,
/// docs/OPERATIONS.md).</summary>
public static class ProfileFallbacks
{
    public const string None = "None";
    public const string SmsThenCall = "SmsThenCall";
}

/// <summary>
/// One verify profile (DESIGN §9.5, <c>Profiles:{name}:…</c>): the brand in the texts and the otpauth issuer of new TOTP
/// enrollments, the phone code's length and validity, the countries each channel may reach (within the deployment's
/// lists; empty = the deployment's), the TOTP digits and period of new enrollments, the default locale and the country →
/// locale map, the domain of the origin-bound SMS line.
/// </summary>
public sealed record VerifyProfile(
    string Name,
    string Brand,
    int CodeLength,
    int ValidityMinutes,
    IReadOnlySet<string> SmsCountries,
    IReadOnlySet<string> CallCountries,
    TotpProfile Totp,
    CodeLocale DefaultLocale,
    IReadOnlyDictionary<string, CodeLocale> CountryLocales,
    string? Domain,
    string Fallback)
{
    public const string DefaultName = "default";

    public TimeSpan Validity => TimeSpan.FromMinutes(ValidityMinutes);

    /// <summary>The locale a code to <paramref name="e164"/> is sent in: the one asked for, else the map's entry for the
    /// number's country (libphonenumber's region; the profile's <c>CountryLocales</c> over the built-in
    /// <see cref="AuthService.Core.Phone.CountryLocales.BuiltIn"/>), else the default.</summary>
    public CodeLocale LocaleFor(CodeLocale? asked, string e164) =>
        asked ?? (CountryLocales.TryGetValue(DestinationPolicy.CountryOf(e164), out var byCountry) ? byCountry : DefaultLocale);

    /// <summary>True when this profile lets <paramref name="channel"/> reach the number's country.</summary>
    public bool Reaches(CodeChannel channel, string e164)
    {
        var allowed = channel == CodeChannel.Sms ? SmsCountries : CallCountries;
        return allowed.Count == 0 || allowed.Contains(DestinationPolicy.CountryOf(e164));
    }

    /// <summary>The SMS text of a code in a locale.</summary>
    public string Sms(CodeLocale locale, string code) => CodeTexts.Sms(locale, Brand, code, ValidityMinutes, Domain);

    /// <summary>The TeXML voice script of a code in a locale.</summary>
    public string VoiceTexml(CodeLocale locale, string code) => CodeTexts.VoiceTexml(locale, Brand, code);
}
