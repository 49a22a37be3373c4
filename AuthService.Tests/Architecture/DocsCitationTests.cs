using System.Reflection;
using System.Text.RegularExpressions;

namespace AuthService.Tests.Architecture;

/// <summary>The docs cite tests as evidence (docs/SECURITY.md's ASVS and NIST tables above all): every <c>XxxTests</c> and
/// <c>XxxTests.Method</c> they name must be a test class and a test of it in this assembly, so a renamed or removed test cannot
/// leave a claim standing on nothing. A name cut short with <c>…</c> or <c>*</c> must be the start of a test's name.</summary>
public sealed partial class DocsCitationTests
{
    private static readonly Dictionary<string, Type> TestClasses = typeof(DocsCitationTests).Assembly.GetTypes()
        .Where(t => t.Name.EndsWith("Tests", StringComparison.Ordinal) && t.GetMethods().Any(IsTest))
        .GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.First());

    public static IEnumerable<string> Docs() =>
        Directory.GetFiles(Path.Combine(Repo.Root, "docs"), "*.md").Append(Path.Combine(Repo.Root, "README.md"))
            .Select(path => Path.GetRelativePath(Repo.Root, path)).Order(StringComparer.Ordinal);

    [TestCaseSource(nameof(Docs))]
    public void Every_test_a_doc_cites_exists(string doc)
    {
        var missing = new List<string>();
        var lines = File.ReadAllLines(Path.Combine(Repo.Root, doc));
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (Match m in Citation().Matches(lines[i]))
            {
                var (name, member, cut) = (m.Groups["class"].Value, m.Groups["member"].Value, m.Groups["cut"].Success);
                if (!TestClasses.TryGetValue(name, out var type))
                {
                    missing.Add($"{doc}:{i + 1}: no test class {name}");
                    continue;
                }

                if (member.Length > 0 && !type.GetMethods().Any(t => IsTest(t) && (cut ? t.Name.StartsWith(member, StringComparison.Ordinal) : t.Name == member)))
                {
                    missing.Add($"{doc}:{i + 1}: {name} has no test {member}{(cut ? "…" : "")}");
                }
            }
        }

        Assert.That(missing, Is.Empty, "Cited tests that do not exist (rename the citation or cite the test that now holds the claim)");
    }

    [Test]
    public void The_check_finds_citations_and_refuses_a_missing_one()
    {
        // What the check reads: a citation with a member, one cut short, a class alone, and a file name it must skip.
        var found = Citation().Matches("`LimitsTests.Reset_lifts_a_lockout`, `ProductionInstanceTests.Phone_user_journey_…`, " +
                                       "`NumberCheckTests`, `Architecture/ArchitectureTests.cs`")
            .Select(m => $"{m.Groups["class"].Value}|{m.Groups["member"].Value}|{m.Groups["cut"].Success}").ToList();
        Assert.That(found, Is.EqualTo(new[]
        {
            "LimitsTests|Reset_lifts_a_lockout|False", "ProductionInstanceTests|Phone_user_journey_|True", "NumberCheckTests||False",
            "ArchitectureTests||False",
        }));
        Assert.That(TestClasses["LimitsTests"].GetMethods().Any(t => IsTest(t) && t.Name == "Reset_lifts_a_lockout"), Is.True);
        Assert.That(TestClasses["LimitsTests"].GetMethods().Any(t => IsTest(t) && t.Name == "Reset_lifts_a_lockout_twice"), Is.False);
    }

    private static bool IsTest(MethodInfo method) =>
        method.GetCustomAttributes().Any(a => a is TestAttribute or TestCaseAttribute or TestCaseSourceAttribute);

    /// <summary><c>XxxTests</c>, optionally <c>.Member</c> (not a file extension), optionally cut short with <c>…</c> or <c>*</c>.</summary>
    [GeneratedRegex(@"\b(?<class>[A-Z][A-Za-z0-9]*Tests)\b(?:\.(?!cs\b)(?<member>[A-Za-z0-9_]+)?(?<cut>…|\*)?)?")]
    private static partial Regex Citation();
}
