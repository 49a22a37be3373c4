using AuthService.Core.Phone;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Core;

/// <summary>The built-in country → locale map (DESIGN §9.5, "else by the number's country"): every country in it is one a
/// number can belong to, it leaves the many-language countries to the profile's default, and docs/LOCALES.md lists the same.</summary>
public class CountryLocalesTests
{
    [Test]
    public void Every_country_is_a_region_numbers_have_and_every_locale_is_ours()
    {
        Assert.That(CountryLocales.BuiltIn.Keys.Where(c => !DestinationPolicy.IsCountryWithNumbers(c)), Is.Empty);
        Assert.That(CountryLocales.BuiltIn.Values.Select(l => l.Tag).Except(CodeLocales.Tags), Is.Empty);
    }

    [TestCase("+4915123456789", "de")]
    [TestCase("+436641234567", "de")]
    [TestCase("+33612345678", "fr")]
    [TestCase("+5511987654321", "pt-BR")]
    [TestCase("+351912345678", "pt-BR")]
    [TestCase("+819012345678", "ja")]
    [TestCase("+886912345678", "zh-Hant")]
    [TestCase("+8613812345678", "zh-Hans")]
    [TestCase("+13035550123", "en")]
    [TestCase("+447911123456", "en")]
    public void A_numbers_country_finds_its_language(string e164, string tag) =>
        Assert.That(CountryLocales.BuiltIn[DestinationPolicy.CountryOf(e164)].Tag, Is.EqualTo(tag));

    [TestCase("CH")]
    [TestCase("BE")]
    [TestCase("CA")]
    [TestCase("LU")]
    [TestCase("IN")]
    [TestCase("SG")]
    [TestCase("ZA")]
    public void A_country_of_several_languages_is_left_to_the_profile(string country) =>
        Assert.That(CountryLocales.BuiltIn.ContainsKey(country), Is.False);

    [Test]
    public void The_locales_doc_lists_the_same_countries()
    {
        var lines = File.ReadAllLines(Path.Combine(Repo.Root, "docs", "LOCALES.md"));
        var header = Array.FindIndex(lines, l => l.StartsWith("| locale | countries (built in) |", StringComparison.Ordinal));
        Assert.That(header, Is.GreaterThanOrEqualTo(0), "docs/LOCALES.md has the built-in country table");

        var documented = lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|'))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries))
            .SelectMany(cells => cells[2].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(country => (country, tag: cells[1])))
            .ToDictionary(p => p.country, p => p.tag);

        Assert.That(documented, Is.EquivalentTo(CountryLocales.BuiltIn.ToDictionary(p => p.Key, p => p.Value.Tag)));
    }
}
