using System.Globalization;
using PhoneNumbers;

namespace AuthService.Core.Phone;

/// <summary>Why a destination was refused; <see cref="None"/> when it is allowed.</summary>
public enum DestinationRefusal
{
    None,

    /// <summary>Premium-rate, shared-cost, personal, VoIP, pager, UAN, voicemail or unknown: the numbers toll-fraud and
    /// SMS-pumping rings use, where a call or message earns the attacker money.</summary>
    NumberType,

    /// <summary>The country is not on the channel's allow-list.</summary>
    Country,

    /// <summary>A non-geographic country calling code (+800 freephone, +870 Inmarsat, +881/+882 satellite and global
    /// networks): no ISO 3166 country, so no allow-list can admit it.</summary>
    NonGeographic,

    /// <summary>Not a valid E.164 number at all (callers normally parse first).</summary>
    Invalid,
}

/// <summary>What <see cref="DestinationPolicy.Check"/> decided. <see cref="Country"/> is the ISO 3166 alpha-2 region
/// (or <c>001</c> for non-geographic codes, <c>ZZ</c> when unknown); <see cref="NumberType"/> is libphonenumber's type
/// name (<c>MOBILE</c>, <c>PREMIUM_RATE</c>, …). Neither is secret, so both may go to logs and metrics.</summary>
public readonly record struct DestinationDecision(DestinationRefusal Refusal, string Country, string NumberType)
{
    public bool Allowed => Refusal == DestinationRefusal.None;
}

/// <summary>
/// Which phone numbers codes may be sent to (DESIGN §8.2): only some libphonenumber number types (by default mobile
/// and fixed-line), only geographic numbers, and per channel only the countries of its allow-list (an empty list admits
/// every country). Pure: libphonenumber's metadata is data, not I/O.
/// </summary>
public sealed class DestinationPolicy
{
    /// <summary>The number types accepted when <c>Telephony:AllowedNumberTypes</c> is not set.</summary>
    public static readonly IReadOnlyList<string> DefaultNumberTypes = ["MOBILE", "FIXED_LINE", "FIXED_LINE_OR_MOBILE"];

    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();
    private static readonly Dictionary<string, PhoneNumberType> TypesByName = Enum.GetValues<PhoneNumberType>()
        .ToDictionary(t => t.ToString(), t => t, StringComparer.OrdinalIgnoreCase);

    private readonly HashSet<PhoneNumberType> _types;
    private readonly HashSet<string> _smsCountries;
    private readonly HashSet<string> _callCountries;

    private DestinationPolicy(HashSet<PhoneNumberType> types, HashSet<string> sms, HashSet<string> call)
    {
        _types = types;
        _smsCountries = sms;
        _callCountries = call;
    }

    /// <summary>Every number type name libphonenumber knows, for error messages and documentation.</summary>
    public static IReadOnlyList<string> KnownNumberTypes => TypesByName.Keys.Order(StringComparer.Ordinal).ToList();

    public IReadOnlyCollection<string> NumberTypes => _types.Select(t => t.ToString()).Order(StringComparer.Ordinal).ToList();

    public IReadOnlyCollection<string> CountriesFor(CodeChannel channel) =>
        (channel == CodeChannel.Sms ? _smsCountries : _callCountries).Order(StringComparer.Ordinal).ToList();

    /// <summary>The policy of the defaults: mobile and fixed-line numbers of every country, on both channels.</summary>
    public static DestinationPolicy Default => Create(null, null, null);

    /// <summary>
    /// Builds a policy from configuration values. Null or empty <paramref name="numberTypes"/> means
    /// <see cref="DefaultNumberTypes"/>; null or empty country lists admit every country. Names are case-insensitive.
    /// Throws <see cref="ArgumentException"/> with a one-line message naming every unknown type or country code.
    /// </summary>
    public static DestinationPolicy Create(IEnumerable<string>? numberTypes, IEnumerable<string>? smsCountries, IEnumerable<string>? callCountries)
    {
        var problems = new List<string>();
        var typeNames = Clean(numberTypes);
        if (typeNames.Count == 0)
        {
            typeNames = DefaultNumberTypes.ToList();
        }

        var types = new HashSet<PhoneNumberType>();
        foreach (var name in typeNames)
        {
            if (TypesByName.TryGetValue(name, out var type))
            {
                types.Add(type);
            }
            else
            {
                problems.Add($"Telephony:AllowedNumberTypes: unknown number type '{name}' (known: {string.Join(", ", KnownNumberTypes)})");
            }
        }

        var sms = Countries(smsCountries, "Sms", problems);
        var call = Countries(callCountries, "Call", problems);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems) + ".");
        }

        return new DestinationPolicy(types, sms, call);
    }

    /// <summary>Decides whether a code may be sent to <paramref name="e164"/> on <paramref name="channel"/>.</summary>
    public DestinationDecision Check(string e164, CodeChannel channel)
    {
        PhoneNumber number;
        try
        {
            number = Util.Parse(e164, null);
        }
        catch (NumberParseException)
        {
            return new DestinationDecision(DestinationRefusal.Invalid, "ZZ", nameof(PhoneNumberType.UNKNOWN));
        }

        var region = Util.GetRegionCodeForNumber(number) ?? "ZZ";
        var type = Util.GetNumberType(number);
        var refusal = !Util.IsValidNumber(number) ? DestinationRefusal.Invalid
            : !_types.Contains(type) ? DestinationRefusal.NumberType
            : !IsIsoRegion(region) ? DestinationRefusal.NonGeographic
            : (channel == CodeChannel.Sms ? _smsCountries : _callCountries) is { Count: > 0 } allowed && !allowed.Contains(region)
                ? DestinationRefusal.Country
                : DestinationRefusal.None;
        return new DestinationDecision(refusal, region, type.ToString());
    }

    /// <summary>The ISO 3166 alpha-2 region of a valid number, <c>001</c> for non-geographic codes, <c>ZZ</c> if unknown.</summary>
    public static string CountryOf(string e164)
    {
        try
        {
            return Util.GetRegionCodeForNumber(Util.Parse(e164, null)) ?? "ZZ";
        }
        catch (NumberParseException)
        {
            return "ZZ";
        }
    }

    private static bool IsIsoRegion(string region) => region.Length == 2 && region != "ZZ" && char.IsAsciiLetterUpper(region[0]);

    /// <summary>True for an ISO 3166 alpha-2 code (upper case) of a country that has phone numbers (libphonenumber's regions):
    /// <c>GB</c>, not <c>UK</c> or <c>ZZ</c>. Every configured country list is checked with it, so that a code no number can
    /// ever have is refused at the start rather than refusing every send.</summary>
    public static bool IsCountryWithNumbers(string code) => IsIsoRegion(code) && Util.GetSupportedRegions().Contains(code);

    private static HashSet<string> Countries(IEnumerable<string>? values, string channel, List<string> problems)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in Clean(values))
        {
            var code = value.ToUpper(CultureInfo.InvariantCulture);
            if (IsCountryWithNumbers(code))
            {
                result.Add(code);
            }
            else
            {
                problems.Add($"Telephony:AllowedCountries:{channel}: '{value}' is not an ISO 3166 alpha-2 country code with phone numbers");
            }
        }

        return result;
    }

    private static List<string> Clean(IEnumerable<string>? values) =>
        (values ?? []).Select(v => v.Trim()).Where(v => v.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
}
