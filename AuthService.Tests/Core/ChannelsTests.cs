using AuthService.Core.Factors;
using AuthService.Core.Phone;

namespace AuthService.Tests.Core;

public class ChannelsTests
{
    [TestCase("sms", CodeChannel.Sms)]
    [TestCase("call", CodeChannel.Call)]
    public void The_wire_spelling_round_trips(string wire, CodeChannel channel)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Channels.TryParse(wire, out var parsed), Is.True);
            Assert.That(parsed, Is.EqualTo(channel));
            Assert.That(Channels.Parse(wire), Is.EqualTo(channel));
            Assert.That(channel.ToWire(), Is.EqualTo(wire));
            Assert.That(Channels.IsPhone(wire), Is.True);
        });
    }

    [TestCase("SMS")]
    [TestCase("Call")]
    [TestCase(" sms")]
    [TestCase("voice")]
    [TestCase("passkey")]
    [TestCase("")]
    [TestCase(null)]
    public void Anything_else_is_not_a_channel(string? wire)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Channels.IsPhone(wire), Is.False);
            Assert.That(Channels.TryParse(wire, out _), Is.False);
            Assert.Throws<ArgumentException>(() => Channels.Parse(wire));
        });
    }

    [Test]
    public void Every_channel_has_a_wire_spelling()
    {
        Assert.That(Enum.GetValues<CodeChannel>().Select(c => c.ToWire()), Is.EqualTo(new[] { Channels.Sms, Channels.Call }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ((CodeChannel)42).ToWire());
    }
}
