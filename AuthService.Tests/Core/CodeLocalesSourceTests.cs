using AuthService.Core.Phone;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Core;

/// <summary>Where each locale's words come from (issue 25: "write down where each came from"): the code records it, the
/// MPL-2.0 file holds exactly the sourced locales, and docs/LOCALES.md says the same, so the two cannot drift apart.</summary>
public class CodeLocalesSourceTests
{
    private const string Mozilla = "Mozilla accounts auth.ftl recovery-phone-";

    public static IEnumerable<string> Tags => CodeLocales.Tags;

    [TestCaseSource(nameof(Tags))]
    public void Each_locale_records_its_source_and_only_the_mpl_file_holds_sourced_ones(string tag)
    {
        var locale = CodeLocales.Find(tag)!;
        var inMplFile = CodeLocales.Sourced.Any(l => l.Tag == tag);

        Assert.That(locale.Source, locale.Source == CodeLocales.Own ? Is.EqualTo(CodeLocales.Own) : Does.StartWith(Mozilla));
        Assert.That(inMplFile, Is.EqualTo(locale.Source != CodeLocales.Own),
            "a text taken from Mozilla's translations lives in CodeLocales.Sourced.cs (MPL-2.0), and only those do");
    }

    [TestCaseSource(nameof(Tags))]
    public void The_locales_doc_names_the_same_source_encoding_and_voice_language(string tag)
    {
        var locale = CodeLocales.Find(tag)!;
        var row = DocRow(tag);
        var encoding = Gsm7.Measure(CodeTexts.Sms(locale, "Acme", "123456", 10)).Encoding == SmsEncoding.Gsm7 ? "GSM-7" : "UCS-2";

        Assert.That(row, Does.Contain($"| {encoding} | {locale.SayVoice} {locale.SayLanguage} |"), row);
        Assert.That(row, Does.Contain($"`{locale.Source}`"), row);
    }

    [Test]
    public void The_locales_doc_has_one_row_per_locale_and_no_other()
    {
        var rows = SourceTable().Select(r => r.Split('|', StringSplitOptions.TrimEntries)[1]).ToList();

        Assert.That(rows, Is.EquivalentTo(CodeLocales.Tags));
    }

    [Test]
    public void The_third_party_notices_name_the_mpl_file()
    {
        var notices = File.ReadAllText(Path.Combine(Repo.Root, "THIRD-PARTY-NOTICES.md"));

        Assert.That(notices, Does.Contain("AuthService.Core/Phone/CodeLocales.Sourced.cs").And.Contain("MPL-2.0"));
        Assert.That(File.ReadAllText(Path.Combine(Repo.Root, "AuthService.Core", "Phone", "CodeLocales.Sourced.cs")),
            Does.StartWith("// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0."));
    }

    private static string DocRow(string tag) => SourceTable().Single(r => r.StartsWith($"| {tag} |", StringComparison.Ordinal));

    /// <summary>The rows of the per-locale table under "Where the wording comes from" (its first column is the tag).</summary>
    private static IEnumerable<string> SourceTable()
    {
        var lines = File.ReadAllLines(Path.Combine(Repo.Root, "docs", "LOCALES.md"));
        var header = Array.FindIndex(lines, l => l.StartsWith("| tag | encoding | TeXML `<Say>` voice and language | source |", StringComparison.Ordinal));
        Assert.That(header, Is.GreaterThanOrEqualTo(0), "docs/LOCALES.md lost its per-locale source table");
        return lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|'));
    }
}
