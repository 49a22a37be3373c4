using System.Text.RegularExpressions;
using System.Xml.Linq;
using AuthService.Core.Phone;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Core;

/// <summary>DESIGN §9.5: a call "uses TeXML &lt;Say language=…&gt; of that locale". Telnyx's &lt;Say&gt; page lists no languages for
/// its premium <c>alice</c> voice; the one list it publishes is its speak command's <c>language</c> enum, vendored in
/// contracts/telnyx/telnyx-v2-subset.yml (<c>SpeakRequest</c>). A language outside it (ar-XA, cs-CZ, …, cmn-TW were sent)
/// may fail the call's &lt;Say&gt;. Each locale uses <c>alice</c> with a listed language, or an Azure neural voice of its own
/// language in the <c>Azure.VoiceId</c> form the &lt;Say&gt; page documents.</summary>
public class CodeLocalesVoiceTests
{
    public static IEnumerable<string> Tags => CodeLocales.Tags;

    [TestCaseSource(nameof(Tags))]
    public void A_call_speaks_in_a_voice_and_language_telnyx_documents(string tag)
    {
        var locale = CodeLocales.Find(tag)!;
        var says = XDocument.Parse(CodeTexts.VoiceTexml(locale, "Acme", "123456")).Root!.Elements("Say").ToList();

        Assert.That(says.Select(s => (s.Attribute("voice")?.Value, s.Attribute("language")?.Value)),
            Has.All.EqualTo((locale.SayVoice, locale.SayLanguage)));
        if (locale.SayVoice == CodeLocales.Alice)
        {
            Assert.That(TelnyxPremiumLanguages(), Does.Contain(locale.SayLanguage),
                $"{tag}: <Say voice=\"alice\" language=\"{locale.SayLanguage}\"> is not a language Telnyx lists");
        }
        else
        {
            Assert.That(locale.SayVoice, Does.Match($"^Azure\\.{Regex.Escape(locale.SayLanguage)}-[A-Z][A-Za-z]+Neural$"),
                $"{tag}: an Azure neural voice of the locale's own language");
            Assert.That(TelnyxPremiumLanguages().Any(l => l.StartsWith(locale.SayLanguage.Split('-')[0] + "-", StringComparison.Ordinal)),
                Is.False, $"{tag}: alice has a language for it; use that");
        }
    }

    /// <summary>The brand is operator-configured and may hold any GSM-7 basic character, XML's own included: the TeXML stays
    /// well formed and says the brand as written.</summary>
    [TestCase("A<B")]
    [TestCase("A&B\"C'D>E")]
    [TestCase("<Hangup/>")]
    public void A_brand_with_xml_characters_is_escaped_in_the_texml(string brand)
    {
        Assert.That(CodeTexts.BrandProblem(brand), Is.Null, "such a brand is accepted at start-up");
        foreach (var locale in CodeLocales.All)
        {
            var root = XDocument.Parse(CodeTexts.VoiceTexml(locale, brand, "123456")).Root!;
            Assert.That(root.Elements().Select(e => e.Name.LocalName), Is.EqualTo(new[] { "Say", "Pause", "Say" }), locale.Tag);
            Assert.That(root.Elements("Say").Select(s => s.Value), Has.All.Contains(brand), locale.Tag);
        }
    }

    private static HashSet<string> TelnyxPremiumLanguages()
    {
        var lines = File.ReadAllLines(Path.Combine(Repo.Root, "contracts", "telnyx", "telnyx-v2-subset.yml"));
        var speak = Array.FindIndex(lines, l => l.Trim() == "SpeakRequest:");
        var language = Array.FindIndex(lines, speak, l => l.Trim() == "language:" && l.StartsWith("        language:", StringComparison.Ordinal));
        var enumAt = Array.FindIndex(lines, language, l => l.Trim() == "enum:");
        var values = lines.Skip(enumAt + 1).TakeWhile(l => l.TrimStart().StartsWith("- ", StringComparison.Ordinal))
            .Select(l => l.Trim()[2..]).ToHashSet(StringComparer.Ordinal);
        Assert.That(values, Does.Contain("arb").And.Contain("en-US").And.Contain("tr-TR"), "the vendored speak language enum");
        return values;
    }
}
