using System.Globalization;
using AuthService.Api.Telephony;
using AuthService.Core.Phone;
using AuthService.Core.Totp;

namespace AuthService.Api.Profiles;

/// <summary>
/// The deployment's verify profiles, read and validated once at start: every problem of every profile in one message
/// (<see cref="FromConfiguration"/> throws <see cref="InvalidOperationException"/>, turned into the start-up refusal). The
/// <c>default</c> profile always exists; unset, it is <c>Auth:Issuer</c> as brand, 6-digit codes valid 10 minutes, the
/// <c>Totp:*</c> digits and period, English.
/// </summary>
public sealed class VerifyProfiles
{
    private readonly Dictionary<string, VerifyProfile> _byName;

    private VerifyProfiles(Dictionary<string, VerifyProfile> byName) => _byName = byName;

    public VerifyProfile Default => _byName[VerifyProfile.DefaultName];

    public IReadOnlyCollection<string> Names => _byName.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>The profile of this name (any case), or null.</summary>
    public VerifyProfile? Find(string? name) =>
        name is not null && _byName.TryGetValue(name.Trim().ToLowerInvariant(), out var profile) ? profile : null;

    public static VerifyProfiles FromConfiguration(IConfiguration configuration, TelephonyControls deployment, string issuer,
        TotpProfile totp)
    {
        var problems = new List<string>();
        var byName = new Dictionary<string, VerifyProfile>(StringComparer.Ordinal);
        var sections = configuration.GetSection("Profiles").GetChildren().ToList();
        if (!sections.Any(s => s.Key.Equals(VerifyProfile.DefaultName, StringComparison.OrdinalIgnoreCase)))
        {
            sections.Add(configuration.GetSection($"Profiles:{VerifyProfile.DefaultName}"));
        }

        foreach (var section in sections)
        {
            var name = section.Key.ToLowerInvariant();
            if (name.Length is < 1 or > 40 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_'))
            {
                problems.Add($"Profiles:{section.Key}: a profile name is 1–40 characters of a–z, 0–9, - and _");
                continue;
            }

            var read = new ProfileReader(section, $"Profiles:{section.Key}", problems, configuration["Telephony:Telnyx:WebhookPublicKey"],
                VoiceConfigured(configuration));
            byName[name] = read.Profile(name, deployment, issuer, totp);
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", problems) + ".");
        }

        return new VerifyProfiles(byName);
    }

    /// <summary>Whether Telnyx can place calls (<c>TelnyxOptions.VoiceConfigured</c>, read from the same keys).</summary>
    private static bool VoiceConfigured(IConfiguration configuration) =>
        configuration.GetSection(TelnyxOptions.SectionName).Get<TelnyxOptions>()?.VoiceConfigured == true;

    /// <summary>Reads one <c>Profiles:{name}</c> section, adding a one-line problem for each bad value.</summary>
    private sealed class ProfileReader(IConfigurationSection section, string path, List<string> problems, string? publicKey, bool voice)
    {
        public VerifyProfile Profile(string name, TelephonyControls deployment, string issuer, TotpProfile totp)
        {
            var brand = section["Brand"] ?? issuer;
            if (CodeTexts.BrandProblem(brand) is { } badBrand)
                problems.Add($"{path}:Brand '{brand}' {badBrand}");

            var length = Int("Length", PhoneCodes.Digits, PhoneCodes.MinDigits, PhoneCodes.MaxDigits);
            var validity = Int("ValidityMinutes", PhoneCodes.ValidityMinutes, 2, 10);
            var digits = Int("TotpDigits", totp.Digits, 6, 8);
            var period = Int("TotpPeriod", totp.PeriodSeconds, 30, 60);
            // A profile's own TOTP values are 6/8 digits and 30/60 s; without them it inherits Totp:* as the deployment set and
            // validated it (a test or failover rig may widen the period there).
            if (section["TotpDigits"] is not null && digits is not (6 or 8))
                problems.Add($"{path}:TotpDigits must be 6 or 8, not {digits}");
            if (section["TotpPeriod"] is not null && period is not (30 or 60))
                problems.Add($"{path}:TotpPeriod must be 30 or 60, not {period}");

            var defaultLocale = Locale("DefaultLocale", section["DefaultLocale"] ?? CodeLocales.English);
            // The built-in country map first (DESIGN §9.5: by the number's country), then the profile's own entries over it.
            var builtIn = Bool("BuiltInCountryLocales", true);
            var countryLocales = builtIn
                ? new Dictionary<string, CodeLocale>(CountryLocales.BuiltIn, StringComparer.Ordinal)
                : new Dictionary<string, CodeLocale>(StringComparer.Ordinal);
            foreach (var entry in section.GetSection("CountryLocales").GetChildren())
            {
                var country = entry.Key.ToUpperInvariant();
                if (!DestinationPolicy.IsCountryWithNumbers(country))
                    problems.Add($"{path}:CountryLocales:{entry.Key} is not an ISO 3166 alpha-2 country code with phone numbers");
                else if (Locale($"CountryLocales:{entry.Key}", entry.Value) is { } locale)
                    countryLocales[country] = locale;
            }

            var domain = string.IsNullOrWhiteSpace(section["Domain"]) ? null : section["Domain"]!.Trim();
            if (domain is not null && CodeTexts.DomainProblem(domain) is { } badDomain)
                problems.Add($"{path}:Domain '{domain}' {badDomain}");

            var fallback = section["Fallback"]?.Trim() ?? ProfileFallbacks.None;
            var smsThenCall = fallback.Equals(ProfileFallbacks.SmsThenCall, StringComparison.OrdinalIgnoreCase);
            if (smsThenCall && string.IsNullOrWhiteSpace(publicKey))
                problems.Add($"{path}:Fallback SmsThenCall needs Telephony:Telnyx:WebhookPublicKey, to verify Telnyx's delivery reports (docs/OPERATIONS.md)");
            else if (smsThenCall && !voice)
                problems.Add($"{path}:Fallback SmsThenCall needs Telephony:Telnyx:AccountSid, :TexmlApplicationId and :FromNumber, to place the call it offers");
            else if (!smsThenCall && !fallback.Equals(ProfileFallbacks.None, StringComparison.OrdinalIgnoreCase))
                problems.Add($"{path}:Fallback must be None or SmsThenCall, not '{fallback}'");

            if (CodeTexts.BrandProblem(brand) is null && (domain is null || CodeTexts.DomainProblem(domain) is null))
            {
                var overflows = CodeTexts.Overflows(brand, length, validity, domain);
                if (overflows.Count > 0)
                    problems.Add($"{path}: with Brand '{brand}', Length {length} and Domain '{domain}' the SMS does not fit one segment in " +
                                 string.Join(", ", overflows.Select(o => $"{o.Locale.Tag} ({o.Measure.Units} of {o.Measure.SegmentLimit} {o.Measure.Encoding})")) +
                                 "; shorten the brand or the domain");
            }

            return new VerifyProfile(name, brand, length, validity, Countries("Sms", deployment, CodeChannel.Sms),
                Countries("Call", deployment, CodeChannel.Call), new TotpProfile(totp.Algorithm, digits, period),
                defaultLocale ?? CodeLocales.Find(CodeLocales.English)!, countryLocales, domain,
                smsThenCall ? ProfileFallbacks.SmsThenCall : ProfileFallbacks.None);
        }

        private int Int(string key, int fallback, int min, int max)
        {
            var raw = section[key];
            if (string.IsNullOrWhiteSpace(raw))
                return fallback;
            if (int.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
                return value;
            problems.Add($"{path}:{key} must be a whole number from {min} to {max}, not '{raw}'");
            return fallback;
        }

        private bool Bool(string key, bool fallback)
        {
            var raw = section[key];
            if (string.IsNullOrWhiteSpace(raw))
                return fallback;
            if (bool.TryParse(raw.Trim(), out var value))
                return value;
            problems.Add($"{path}:{key} must be true or false, not '{raw}'");
            return fallback;
        }

        private CodeLocale? Locale(string key, string? tag)
        {
            var locale = CodeLocales.Find(tag);
            if (locale is null)
                problems.Add($"{path}:{key} '{tag}' is not one of the locales ({string.Join(", ", CodeLocales.Tags)})");
            return locale;
        }

        private HashSet<string> Countries(string channel, TelephonyControls deployment, CodeChannel codeChannel)
        {
            var countries = TelephonyControls.ConfigList(section.GetSection($"AllowedCountries:{channel}"))
                .Select(c => c.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
            var deploymentList = deployment.Destinations.CountriesFor(codeChannel);
            var outside = deploymentList.Count == 0 ? [] : countries.Where(c => !deploymentList.Contains(c)).Order().ToList();
            if (outside.Count > 0)
                problems.Add($"{path}:AllowedCountries:{channel} lists {string.Join(", ", outside)}, outside Telephony:AllowedCountries:{channel}");
            var malformed = countries.Where(c => !DestinationPolicy.IsCountryWithNumbers(c)).Order().ToList();
            if (malformed.Count > 0)
                problems.Add($"{path}:AllowedCountries:{channel} holds {string.Join(", ", malformed)}, not ISO 3166 alpha-2 codes of countries with phone numbers");
            return countries;
        }
    }
}
