using System.Text;
using System.Xml.Linq;

namespace AuthService.Core.Phone;

/// <summary>
/// A phone code's words in a locale (<see cref="CodeLocales"/>): the SMS, with the origin-bound line
/// <c>@portal.example.com #123456</c> of the WebOTP / iOS one-time-code format when a domain is set, and the TeXML voice
/// script that says the digits one by one, twice, in <c>&lt;Say language=…&gt;</c> of the locale.
/// </summary>
public static class CodeTexts
{
    /// <summary>The longest brand: with it, an 8-digit code and a 10-minute validity every locale's SMS fits one segment
    /// (the brand is limited to the GSM-7 default alphabet so that it never turns a GSM-7 text into UCS-2).</summary>
    public const int BrandMaxLength = 20;

    /// <summary>The longest domain of the origin-bound line; whether a profile's brand, code length and domain fit one
    /// segment in every locale is checked at start-up (<see cref="Overflows"/>).</summary>
    public const int DomainMaxLength = 63;

    public static string Sms(CodeLocale locale, string brand, string code, int expiresInMinutes, string? domain = null)
    {
        ArgumentNullException.ThrowIfNull(locale);
        ArgumentException.ThrowIfNullOrWhiteSpace(brand);
        EnsureDigits(code);
        ArgumentOutOfRangeException.ThrowIfLessThan(expiresInMinutes, 1);
        var minutes = expiresInMinutes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var tail = locale.Tag == CodeLocales.English && expiresInMinutes == 1 ? " It expires in 1 minute." : locale.SmsTail;
        var text = Fill(locale.Sms + tail, brand, code, minutes);
        if (string.IsNullOrEmpty(domain))
        {
            return text;
        }

        // The WebOTP / iOS format: the last line is "@host #code". The sentence after the code gives way when both do not fit.
        var bound = $"\n\n@{domain} #{code}";
        return Gsm7.Measure(text + bound).FitsOneSegment ? text + bound : Fill(locale.Sms, brand, code, minutes) + bound;
    }

    private static string Fill(string template, string brand, string code, string minutes) =>
        new StringBuilder(template).Replace("{brand}", brand).Replace("{code}", code).Replace("{minutes}", minutes).ToString();

    /// <summary>A TeXML document that says the code twice with a pause between, so a listener who picks up late still
    /// hears it whole; the brand is XML-escaped.</summary>
    public static string VoiceTexml(CodeLocale locale, string brand, string code)
    {
        ArgumentNullException.ThrowIfNull(locale);
        ArgumentException.ThrowIfNullOrWhiteSpace(brand);
        var digits = SpokenDigits(code);
        var response = new XElement("Response",
            Say(locale, locale.Voice, brand, digits),
            new XElement("Pause", new XAttribute("length", 1)),
            Say(locale, locale.VoiceAgain, brand, digits));
        return """<?xml version="1.0" encoding="UTF-8"?>""" + response.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>The digits one by one, separated so that text-to-speech reads them singly: <c>1, 2, 3, 4, 5, 6</c>.</summary>
    public static string SpokenDigits(string code)
    {
        EnsureDigits(code);
        return string.Join(", ", code.ToCharArray());
    }

    /// <summary>Why <paramref name="brand"/> cannot name a sender in a code text, or null: 1–20 characters of the GSM-7
    /// default alphabet, no line break, not blank at either end.</summary>
    public static string? BrandProblem(string? brand)
    {
        if (string.IsNullOrWhiteSpace(brand))
            return "is empty";
        if (brand.Length > BrandMaxLength)
            return $"is {brand.Length} characters long; at most {BrandMaxLength} fit one SMS segment in every locale";
        if (brand.Trim() != brand || brand.Any(c => c is '\n' or '\r' or '\f'))
            return "starts or ends with a space, or holds a line break";
        if (brand.Contains(':'))
            return "holds ':', which separates the issuer from the account in an authenticator app's label (the TOTP otpauth URI)";
        var bad = brand.FirstOrDefault(c => !Gsm7.IsBasic(c));
        return bad == default ? null : $"holds '{bad}', which is outside the GSM-7 default alphabet (it would make every SMS UCS-2)";
    }

    /// <summary>Why <paramref name="domain"/> cannot be the origin-bound line's host, or null: a lower-case DNS name of
    /// at least two labels (letters, digits, hyphens), no scheme, port or path.</summary>
    public static string? DomainProblem(string? domain)
    {
        if (string.IsNullOrEmpty(domain))
            return "is empty";
        if (domain.Length > DomainMaxLength)
            return $"is longer than {DomainMaxLength} characters";
        var labels = domain.Split('.');
        var wellFormed = labels.Length >= 2 && labels.All(l => l.Length is >= 1 and <= 63 && l[0] != '-' && l[^1] != '-'
            && l.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'));
        return wellFormed ? null : "is not a lower-case host name such as portal.example.com (no scheme, port or path)";
    }

    /// <summary>The locales whose SMS would not fit one segment with this brand, code length, validity and domain, each
    /// with what it measured; empty when all fit.</summary>
    public static IReadOnlyList<(CodeLocale Locale, SmsMeasure Measure)> Overflows(string brand, int codeLength, int expiresInMinutes,
        string? domain)
    {
        var code = new string('8', codeLength);
        return CodeLocales.All
            .Select(l => (Locale: l, Measure: Gsm7.Measure(Sms(l, brand, code, expiresInMinutes, domain))))
            .Where(x => !x.Measure.FitsOneSegment)
            .ToList();
    }

    private static XElement Say(CodeLocale locale, string template, string brand, string digits) =>
        new("Say", new XAttribute("voice", locale.SayVoice), new XAttribute("language", locale.SayLanguage),
            template.Replace("{brand}", brand, StringComparison.Ordinal).Replace("{digits}", digits, StringComparison.Ordinal));

    internal static void EnsureDigits(string code)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        if (code.AsSpan().ContainsAnyExceptInRange('0', '9'))
            throw new ArgumentException("A code is digits only.", nameof(code));
    }
}
