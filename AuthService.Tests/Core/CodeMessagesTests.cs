using System.Xml.Linq;
using AuthService.Core.Phone;

namespace AuthService.Tests.Core;

public class CodeMessagesTests
{
    [Test]
    public void Sms_text_matches_the_portal_wording()
    {
        Assert.That(CodeMessages.Sms("Acme", "123456"),
            Is.EqualTo("Your Acme verification code is 123456. It expires in 10 minutes."));
    }

    [Test]
    public void Sms_text_uses_the_given_expiry()
    {
        Assert.That(CodeMessages.Sms("Acme", "042042", 5),
            Is.EqualTo("Your Acme verification code is 042042. It expires in 5 minutes."));
    }

    [Test]
    public void Spoken_digits_are_separated_one_by_one()
    {
        Assert.That(CodeMessages.SpokenDigits("123456"), Is.EqualTo("1, 2, 3, 4, 5, 6"));
    }

    [Test]
    public void Voice_script_is_TeXML_saying_the_digits_twice()
    {
        var texml = CodeMessages.VoiceTexml("Acme", "123456");

        Assert.That(texml, Does.StartWith("""<?xml version="1.0" encoding="UTF-8"?><Response>"""));
        var root = XDocument.Parse(texml).Root!;
        Assert.That(root.Name.LocalName, Is.EqualTo("Response"));
        var says = root.Elements("Say").Select(e => e.Value).ToList();
        Assert.That(says, Has.Count.EqualTo(2));
        Assert.That(says, Has.All.Contains("1, 2, 3, 4, 5, 6"));
        Assert.That(says[0], Is.EqualTo("Your Acme verification code is 1, 2, 3, 4, 5, 6."));
        Assert.That(root.Elements("Pause").Single().Attribute("length")?.Value, Is.EqualTo("1"));
        Assert.That(texml, Does.Not.Contain("123456"));
    }

    [Test]
    public void Voice_script_escapes_the_issuer()
    {
        var texml = CodeMessages.VoiceTexml("A&B <Bank>", "123456");

        Assert.That(texml, Does.Contain("A&amp;B &lt;Bank&gt;"));
        var says = XDocument.Parse(texml).Root!.Elements("Say").First().Value;
        Assert.That(says, Does.StartWith("Your A&B <Bank> verification code"));
    }

    [TestCase("12a456")]
    [TestCase("")]
    [TestCase("12 456")]
    public void Non_digit_codes_are_a_caller_bug(string code)
    {
        Assert.That(() => CodeMessages.Sms("Acme", code), Throws.InstanceOf<ArgumentException>());
        Assert.That(() => CodeMessages.VoiceTexml("Acme", code), Throws.InstanceOf<ArgumentException>());
    }
}
