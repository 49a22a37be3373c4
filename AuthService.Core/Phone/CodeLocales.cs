namespace AuthService.Core.Phone;

/// <summary>
/// The words of one locale. <see cref="Sms"/> holds <c>{brand}</c> and <c>{code}</c>; <see cref="SmsTail"/>, the sentence
/// after it (the validity in <c>{minutes}</c>, written where the language can say a number of minutes with one form, or
/// a warning not to share the code), is left out when the origin-bound line would not fit beside it; <see cref="Voice"/>
/// and <see cref="VoiceAgain"/> hold <c>{brand}</c> and <c>{digits}</c>. <see cref="SayVoice"/> and <see cref="SayLanguage"/>
/// are the TeXML <c>&lt;Say voice=… language=…&gt;</c> values: Telnyx's premium <c>alice</c> with a language its speak
/// command lists (contracts/telnyx, <c>SpeakRequest.language</c>), or, for a language that list lacks, an Azure neural voice
/// in Telnyx's documented <c>Azure.VoiceId</c> form. <see cref="Source"/> says where the SMS wording comes from:
/// <see cref="CodeLocales.Own"/>, or the keys of Mozilla accounts' <c>auth.ftl</c> it was taken from (MPL-2.0,
/// <c>CodeLocales.Sourced.cs</c>); docs/LOCALES.md lists the same per locale, with the change made to each.
/// </summary>
public sealed record CodeLocale(string Tag, string SayLanguage, string Sms, string SmsTail, string Voice, string VoiceAgain,
    string Source, string SayVoice = CodeLocales.Alice);

/// <summary>The locales phone codes are sent in (DESIGN §9.5), and how a requested BCP 47 tag finds one.</summary>
public static partial class CodeLocales
{
    public const string English = "en";

    /// <summary>Telnyx's premium TeXML voice (Amazon Polly), for the languages its speak command lists.</summary>
    public const string Alice = "alice";

    /// <summary>The <see cref="CodeLocale.Source"/> of a text this service wrote itself.</summary>
    public const string Own = "own";

    /// <summary>Every locale, by its canonical BCP 47 tag: English and Arabic written here, the others taken from Mozilla
    /// accounts' translations (<see cref="Sourced"/>). Nothing is translated at run time; docs/LOCALES.md says where each
    /// wording comes from.</summary>
    public static readonly IReadOnlyList<CodeLocale> All =
    [
        new("en", "en-US", "Your {brand} verification code is {code}.", " It expires in {minutes} minutes.",
            "Your {brand} verification code is {digits}.", "Again, your {brand} verification code is {digits}.", Own),
        new("ar", "arb", "{code} هو رمز التحقق من {brand}.", " لا تشاركه مع أحد.",
            "رمز التحقق من {brand} هو {digits}.", "مرة أخرى، رمز التحقق من {brand} هو {digits}.", Own),
        .. Sourced,
    ];

    private static readonly Dictionary<string, CodeLocale> ByTag = All.ToDictionary(l => l.Tag, StringComparer.OrdinalIgnoreCase);

    /// <summary>Tags that name one of ours by another spelling: a script or region subtag our tag leaves implicit.</summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pt"] = "pt-BR", ["zh"] = "zh-Hans", ["zh-CN"] = "zh-Hans", ["zh-SG"] = "zh-Hans", ["zh-Hans-CN"] = "zh-Hans",
        ["zh-TW"] = "zh-Hant", ["zh-HK"] = "zh-Hant", ["zh-MO"] = "zh-Hant", ["zh-Hant-TW"] = "zh-Hant", ["no"] = "nb", ["nn"] = "nb",
    };

    /// <summary>Every canonical tag, for documentation and error messages.</summary>
    public static IReadOnlyList<string> Tags => All.Select(l => l.Tag).ToList();

    /// <summary>The locale a BCP 47 tag asks for: the tag itself (any case), an alias (<c>zh-TW</c> → <c>zh-Hant</c>),
    /// or its language alone (<c>de-AT</c> → <c>de</c>, <c>pt-PT</c> → <c>pt-BR</c>); null when none of ours matches or
    /// the tag is not well formed.</summary>
    public static CodeLocale? Find(string? tag)
    {
        if (string.IsNullOrWhiteSpace(tag) || tag.Length > 35 || !tag.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return null;
        }

        if (ByTag.TryGetValue(tag, out var exact))
        {
            return exact;
        }

        if (Aliases.TryGetValue(tag, out var alias))
        {
            return ByTag[alias];
        }

        // Well formed enough to read (BCP 47 §2.1): a language of 2–3 letters, then subtags of 1–8 characters, none empty
        // ("de-", "de--AT" are not tags).
        var subtags = tag.Split('-');
        var language = subtags[0];
        if (language.Length is < 2 or > 3 || !language.All(char.IsAsciiLetter) || subtags.Skip(1).Any(s => s.Length is 0 or > 8))
        {
            return null;
        }

        if (language.Equals("zh", StringComparison.OrdinalIgnoreCase))
        {
            // The script decides when the tag names one (zh-Hans-TW is simplified, whatever the region); else the region. In
            // BCP 47 order: the script (4 letters) right after the language, the region (2 letters or 3 digits) after it; a
            // variant further on (zh-TW-1996) is neither.
            var next = 1;
            while (next < subtags.Length && subtags[next].Length == 3 && subtags[next].All(char.IsAsciiLetter))
            {
                next++; // an extended language (zh-cmn-Hant-TW, zh-yue-HK) comes before the script and the region
            }

            var script = subtags.Length > next && subtags[next].Length == 4 && subtags[next].All(char.IsAsciiLetter) ? subtags[next++] : null;
            var region = subtags.Length > next && subtags[next].Length == 2 ? subtags[next] : null;
            var traditional = script is not null
                ? script.Equals("Hant", StringComparison.OrdinalIgnoreCase)
                : region is not null && (region.Equals("TW", StringComparison.OrdinalIgnoreCase) || region.Equals("HK", StringComparison.OrdinalIgnoreCase)
                                         || region.Equals("MO", StringComparison.OrdinalIgnoreCase));
            return ByTag[traditional ? "zh-Hant" : "zh-Hans"];
        }

        if (Aliases.TryGetValue(language, out var byLanguage))
        {
            return ByTag[byLanguage];
        }

        return ByTag.TryGetValue(language, out var found) ? found : null;
    }
}
