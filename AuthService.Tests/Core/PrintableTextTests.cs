using AuthService.Core.Text;

namespace AuthService.Tests.Core;

public class PrintableTextTests
{
    [TestCase("")]
    [TestCase("My phone")]
    [TestCase("Téléphone de Zoë")]
    [TestCase("Телефон Ивана")]
    [TestCase("山田の鍵")]
    [TestCase("مفتاح")]
    [TestCase("YubiKey 5 🔑")]
    [TestCase("no-break\u00A0space")]
    [TestCase("می\u200Cخواهم")] // Persian needs the zero-width non-joiner
    [TestCase("family 👨\u200D👩\u200D👧")] // emoji sequences need the joiner
    [TestCase("\u200Fمفتاح")] // a right-to-left mark is a mark, not an override
    public void Printable_text_of_any_script_is_accepted(string value)
    {
        Assert.That(PrintableText.IsValid(value), Is.True);
    }

    [Test]
    public void Null_is_refused()
    {
        Assert.That(PrintableText.IsValid(null), Is.False);
        Assert.That(PrintableText.IsValid(null, 500, allowNewlines: true), Is.False);
    }

    [Test]
    public void The_cap_is_64_characters_by_default()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PrintableText.MaxLength, Is.EqualTo(64));
            Assert.That(PrintableText.IsValid(new string('a', 64)), Is.True);
            Assert.That(PrintableText.IsValid(new string('a', 65)), Is.False, "65 characters");
            Assert.That(PrintableText.IsValid(new string('é', 65)), Is.False, "65 letters outside ASCII");
        });
    }

    /// <summary>The cap counts characters as openapi.yaml's <c>maxLength</c> does (code points): 64 emoji outside the BMP are
    /// 128 UTF-16 units and still 64 characters.</summary>
    [Test]
    public void The_cap_counts_code_points_not_utf16_units()
    {
        var key = char.ConvertFromUtf32(0x1F511);
        Assert.Multiple(() =>
        {
            Assert.That(PrintableText.IsValid(string.Concat(Enumerable.Repeat(key, 64))), Is.True, "64 emoji");
            Assert.That(PrintableText.IsValid(string.Concat(Enumerable.Repeat(key, 65))), Is.False, "65 emoji");
            Assert.That(PrintableText.IsValid(string.Concat(Enumerable.Repeat(key, 32)) + new string('a', 33)), Is.False, "65 mixed");
        });
    }

    /// <summary>Built at run time: an attribute's string is stored as UTF-8, which turns a lone surrogate into U+FFFD.</summary>
    [Test]
    public void A_lone_surrogate_is_refused()
    {
        const char high = '\uD83D', low = '\uDD11';
        Assert.Multiple(() =>
        {
            Assert.That(PrintableText.IsValid(high.ToString()), Is.False, "a high surrogate alone");
            Assert.That(PrintableText.IsValid($"a{low}b"), Is.False, "a low surrogate alone");
            Assert.That(PrintableText.IsValid($"{low}{high}"), Is.False, "a pair in the wrong order");
            Assert.That(PrintableText.IsValid($"{high}{low}"), Is.True, "the pair");
        });
    }

    [Test]
    public void A_caller_sets_its_own_cap()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PrintableText.IsValid(new string('a', 100), 100), Is.True);
            Assert.That(PrintableText.IsValid(new string('a', 101), 100), Is.False);
            Assert.That(PrintableText.IsValid("ab", 1), Is.False);
            Assert.That(PrintableText.IsValid("", 0), Is.True);
        });
    }

    [TestCase("line\nbreak")]
    [TestCase("carriage\rreturn")]
    [TestCase("tab\there")]
    [TestCase("nul\0")]
    [TestCase("\u001b[31mred")]
    [TestCase("del\u007f")]
    [TestCase("c1\u0085next line")]
    [TestCase("line\u2028separator")]
    [TestCase("paragraph\u2029separator")]
    [TestCase("evil\u202Egnp.exe")]
    [TestCase("embed\u202Ahere")]
    [TestCase("isolate\u2066here\u2069")]
    public void Control_characters_are_refused(string value)
    {
        Assert.That(PrintableText.IsValid(value), Is.False);
    }

    [Test]
    public void Multiline_text_admits_line_feeds_and_tabs_but_no_other_control_character()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PrintableText.IsValid("first line\n\tsecond", 500, allowNewlines: true), Is.True);
            Assert.That(PrintableText.IsValid("carriage\rreturn", 500, allowNewlines: true), Is.False, "CR forges log lines");
            Assert.That(PrintableText.IsValid("nul\0", 500, allowNewlines: true), Is.False);
            Assert.That(PrintableText.IsValid("\u001b[2J", 500, allowNewlines: true), Is.False);
            Assert.That(PrintableText.IsValid(new string('\n', 501), 500, allowNewlines: true), Is.False, "the cap still holds");
        });
    }

    [TestCase("a", true)]
    [TestCase(" x ", true)]
    [TestCase("", false)]
    [TestCase("   ", false)]
    [TestCase("\u200B", false)]
    [TestCase("\u00A0\uFEFF\u200D", false)]
    [TestCase(null, false)]
    public void Only_text_with_a_character_that_shows_has_one_visible(string? value, bool visible)
    {
        Assert.That(PrintableText.HasVisible(value), Is.EqualTo(visible));
    }
}
