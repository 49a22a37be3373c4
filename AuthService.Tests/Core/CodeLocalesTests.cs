using System.Text.RegularExpressions;
using System.Xml.Linq;
using AuthService.Core.Phone;

namespace AuthService.Tests.Core;

/// <summary>Every locale's SMS and voice text (DESIGN §9.5): its placeholders, one segment with the longest brand, the
/// encoding it goes in, the code as copyable digits, the origin-bound line, the voice script.</summary>
public class CodeLocalesTests
{
    private const string LongestBrand = "Wwwwwwwwwwwwwwwwwwww"; // 20 characters, the most CodeTexts allows
    private const string LongestCode = "12345678";

    /// <summary>The locales whose text stays in the GSM-7 default alphabet (160 a segment); all others are UCS-2 (70).</summary>
    private static readonly HashSet<string> Gsm7Locales = ["en", "da", "de", "fi", "fr", "id", "it", "nb", "nl", "sv", "tr"];

    public static IEnumerable<string> Tags => CodeLocales.Tags;

    [Test]
    public void At_least_twenty_locales_including_the_required_ones()
    {
        Assert.That(CodeLocales.All, Has.Count.GreaterThanOrEqualTo(20));
        Assert.That(CodeLocales.Tags, Is.SupersetOf(new[]
        {
            "ar", "de", "es", "fr", "hi", "it", "ja", "ko", "nl", "pl", "pt-BR", "ru", "sv", "tr", "uk", "vi", "zh-Hans", "en",
        }));
        Assert.That(CodeLocales.Tags, Is.Unique);
    }

    [TestCaseSource(nameof(Tags))]
    public void Templates_hold_the_brand_and_code_placeholders_once_and_nothing_else(string tag)
    {
        var locale = CodeLocales.Find(tag)!;
        Assert.That(Count(locale.Sms, "{brand}"), Is.EqualTo(1));
        Assert.That(Count(locale.Sms, "{code}"), Is.EqualTo(1));
        Assert.That(Count(locale.Sms, "{minutes}"), Is.Zero);
        Assert.That(Count(locale.SmsTail, "{minutes}"), Is.LessThanOrEqualTo(1));
        Assert.That(locale.SmsTail, Does.Not.Contain("{brand}").And.Not.Contain("{code}"));
        foreach (var voice in new[] { locale.Voice, locale.VoiceAgain })
        {
            Assert.That(Count(voice, "{brand}"), Is.EqualTo(1), voice);
            Assert.That(Count(voice, "{digits}"), Is.EqualTo(1), voice);
        }

        var rendered = CodeTexts.Sms(locale, "Acme", "123456", 10);
        Assert.That(rendered, Does.Not.Contain("{").And.Not.Contain("}"));
        Assert.That(rendered, Does.Contain("Acme"));
    }

    [TestCaseSource(nameof(Tags))]
    public void Sms_fits_one_segment_in_its_encoding_with_the_longest_brand_and_code(string tag)
    {
        var locale = CodeLocales.Find(tag)!;
        var text = CodeTexts.Sms(locale, LongestBrand, LongestCode, PhoneCodes.ValidityMinutes);
        var measure = Gsm7.Measure(text);

        Assert.That(measure.Encoding, Is.EqualTo(Gsm7Locales.Contains(tag) ? SmsEncoding.Gsm7 : SmsEncoding.Ucs2), text);
        Assert.That(measure.Units, Is.LessThanOrEqualTo(measure.SegmentLimit), text);
        Assert.That(measure.FitsOneSegment);
        Assert.That(CodeTexts.Overflows(LongestBrand, 8, 10, null), Is.Empty);
    }

    [TestCaseSource(nameof(Tags))]
    public void The_code_is_one_run_of_digits_the_phone_can_copy(string tag)
    {
        var text = CodeTexts.Sms(CodeLocales.Find(tag)!, "Acme", "90817263", 10);
        Assert.That(Regex.Matches(text, "(?<![0-9])90817263(?![0-9])"), Has.Count.EqualTo(1), text);
    }

    [TestCaseSource(nameof(Tags))]
    public void With_a_domain_the_last_line_is_the_origin_bound_one_and_it_still_fits(string tag)
    {
        var text = CodeTexts.Sms(CodeLocales.Find(tag)!, "Acme", "123456", 10, "portal.example.com");

        Assert.That(text.Split('\n')[^1], Is.EqualTo("@portal.example.com #123456"));
        Assert.That(text, Does.Contain("\n\n@portal.example.com"));
        Assert.That(Gsm7.Measure(text).FitsOneSegment, text);
    }

    [TestCaseSource(nameof(Tags))]
    public void Voice_says_the_digits_one_by_one_twice_in_the_locale(string tag)
    {
        var locale = CodeLocales.Find(tag)!;
        var texml = CodeTexts.VoiceTexml(locale, "A&B", "123456");

        var says = XDocument.Parse(texml).Root!.Elements("Say").ToList();
        Assert.That(says, Has.Count.EqualTo(2));
        Assert.That(says.Select(s => s.Attribute("language")?.Value), Has.All.EqualTo(locale.SayLanguage));
        Assert.That(says.Select(s => s.Value), Has.All.Contains("1, 2, 3, 4, 5, 6").And.All.Contains("A&B"));
        Assert.That(texml, Does.Not.Contain("123456"));
    }

    [Test]
    public void The_sentence_after_the_code_gives_way_to_the_origin_bound_line_only_when_both_do_not_fit()
    {
        var german = CodeTexts.Sms(CodeLocales.Find("de")!, "Acme", "123456", 10, "portal.example.com");
        Assert.That(german, Is.EqualTo("123456 ist Ihr Acme-Bestätigungscode. Läuft in 10 Minuten ab.\n\n@portal.example.com #123456"));

        var russian = CodeTexts.Sms(CodeLocales.Find("ru")!, "Acme", "123456", 10, "portal.example.com");
        Assert.That(russian, Is.EqualTo("Код подтверждения Acme: 123456.\n\n@portal.example.com #123456"));
    }

    [Test]
    public void A_brand_and_domain_too_long_for_a_ucs2_locale_are_named_with_the_locale()
    {
        var overflows = CodeTexts.Overflows(LongestBrand, 8, 10, "verification.portal.example.com");

        Assert.That(overflows.Select(o => o.Locale.Tag), Does.Contain("ja").And.Contain("ru"));
        Assert.That(overflows.Select(o => o.Measure.Encoding), Has.All.EqualTo(SmsEncoding.Ucs2));
        Assert.That(CodeTexts.Overflows("Acme", 6, 10, "portal.example.com"), Is.Empty);
    }

    [TestCase("de-AT", "de")]
    [TestCase("DE", "de")]
    [TestCase("pt-br", "pt-BR")]
    [TestCase("pt-PT", "pt-BR")]
    [TestCase("zh-CN", "zh-Hans")]
    [TestCase("zh", "zh-Hans")]
    [TestCase("zh-TW", "zh-Hant")]
    [TestCase("zh-Hant-HK", "zh-Hant")]
    [TestCase("zh-HANT", "zh-Hant")] // BCP 47 tags are case-insensitive
    [TestCase("zh-hk", "zh-Hant")]
    [TestCase("zh-Hans-TW", "zh-Hans")] // the script decides over the region
    [TestCase("zh-Hans-HK", "zh-Hans")]
    [TestCase("zh-Hant-CN", "zh-Hant")]
    [TestCase("zh-SG", "zh-Hans")]
    [TestCase("no", "nb")]
    [TestCase("en-GB", "en")]
    [TestCase("zh-TW-1996", "zh-Hant")] // a variant after the region is not a script
    [TestCase("zh-419", "zh-Hans")] // a numeric region
    [TestCase("zh-cmn-Hant-TW", "zh-Hant")] // an extended language before the script
    [TestCase("zh-yue-HK", "zh-Hant")]
    [TestCase("de-CH-1901", "de")]
    public void A_tag_finds_its_locale(string asked, string found) =>
        Assert.That(CodeLocales.Find(asked)?.Tag, Is.EqualTo(found));

    [TestCase("xx")]
    [TestCase("en_US")]
    [TestCase("")]
    [TestCase("e")]
    [TestCase("klingon-KL")]
    [TestCase("en US")]
    [TestCase("de-")] // an empty subtag, at the end, between two or at the start
    [TestCase("de--AT")]
    [TestCase("-de")]
    [TestCase("fr-waytoolongsubtag9")] // a subtag is at most 8 characters
    [TestCase("d3-AT")] // the language is letters
    public void An_unknown_or_malformed_tag_finds_none(string asked) => Assert.That(CodeLocales.Find(asked), Is.Null);

    [TestCase("Acme", null)]
    [TestCase("Ärzte Bank", null)]
    [TestCase("", "is empty")]
    [TestCase("Wwwwwwwwwwwwwwwwwwwww", "21 characters")]
    [TestCase("Acme{}", "GSM-7")]
    [TestCase("Açme", "GSM-7")]
    [TestCase("アクメ", "GSM-7")]
    [TestCase(" Acme", "space")]
    [TestCase("Acme: Bank", "':'")]
    public void A_brand_is_checked(string brand, string? problem) =>
        Assert.That(CodeTexts.BrandProblem(brand), problem is null ? Is.Null : Does.Contain(problem));

    [TestCase("portal.example.com", true)]
    [TestCase("https://portal.example.com", false)]
    [TestCase("Portal.Example.com", false)]
    [TestCase("localhost", false)]
    [TestCase("portal.example.com:443", false)]
    [TestCase("-bad.example.com", false)]
    public void A_domain_is_checked(string domain, bool ok) =>
        Assert.That(CodeTexts.DomainProblem(domain), ok ? Is.Null : Is.Not.Null);

    [Test]
    public void Gsm7_counts_extension_characters_twice_and_anything_else_turns_the_text_ucs2()
    {
        Assert.That(Gsm7.Measure(new string('a', 160)), Is.EqualTo(new SmsMeasure(SmsEncoding.Gsm7, 160)));
        Assert.That(Gsm7.Measure(new string('a', 161)).FitsOneSegment, Is.False);
        Assert.That(Gsm7.Measure("Price: 5€ [x]"), Is.EqualTo(new SmsMeasure(SmsEncoding.Gsm7, 16)));
        Assert.That(Gsm7.Measure("ÄÖÜäöüßéèÉÑñ@£$¥Δ§¿¡"), Is.EqualTo(new SmsMeasure(SmsEncoding.Gsm7, 20)));
        Assert.That(Gsm7.Measure("código").Encoding, Is.EqualTo(SmsEncoding.Ucs2));
        Assert.That(Gsm7.Measure("ç").Encoding, Is.EqualTo(SmsEncoding.Ucs2));
        Assert.That(Gsm7.Measure(new string('ж', 70)).FitsOneSegment, Is.True);
        Assert.That(Gsm7.Measure(new string('ж', 71)).FitsOneSegment, Is.False);
        Assert.That(Gsm7.Measure("😀").Units, Is.EqualTo(2)); // a surrogate pair is two UCS-2 units
    }

    private static int Count(string text, string part) => Regex.Matches(text, Regex.Escape(part)).Count;
}
