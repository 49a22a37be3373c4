using AuthService.Core;

namespace AuthService.Tests.Core;

public class UserIdsTests
{
    [TestCase("a")]
    [TestCase("ann@example.com")]
    [TestCase("A-Z_a.z:0@9")]
    [TestCase("...")]
    [TestCase(".a")]
    public void Accepts_the_documented_alphabet(string id) => Assert.That(UserIds.IsValid(id), Is.True);

    [TestCase("")]
    [TestCase(null)]
    [TestCase("with space")]
    [TestCase("../etc/passwd")]
    [TestCase("tenant:42/x")]
    [TestCase("ann\n")]
    [TestCase("ünïcode")]
    [TestCase(".")]
    [TestCase("..")]
    public void Refuses_anything_else(string? id) => Assert.That(UserIds.IsValid(id), Is.False);

    [Test]
    public void The_pattern_published_in_the_contract_says_the_same()
    {
        var pattern = new System.Text.RegularExpressions.Regex(UserIds.Pattern);
        foreach (var id in new[] { "a", "ann@example.com", "...", ".a", ".", "..", "a b", new string('a', 128), new string('a', 129) })
        {
            Assert.That(pattern.IsMatch(id), Is.EqualTo(UserIds.IsValid(id)), id);
        }
    }

    [Test]
    public void Length_is_1_to_128()
    {
        Assert.That(UserIds.IsValid(new string('a', 128)), Is.True);
        Assert.That(UserIds.IsValid(new string('a', 129)), Is.False);
    }
}
