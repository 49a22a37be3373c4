using AuthService.Core.Policy;

namespace AuthService.Tests.Core;

public class RetryDelayTests
{
    [TestCase(10_000, 10)]
    [TestCase(9_001, 10)]
    [TestCase(9_999, 10)]
    [TestCase(10_001, 11)]
    [TestCase(86_400_000, 86_400)]
    public void A_wait_is_whole_seconds_rounded_up(long milliseconds, int seconds)
    {
        Assert.That(RetryDelay.Seconds(TimeSpan.FromMilliseconds(milliseconds)), Is.EqualTo(seconds),
            "a client that waits exactly this long is not refused again");
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(999)]
    [TestCase(-5_000)]
    public void Never_less_than_one_second(long milliseconds)
    {
        Assert.That(RetryDelay.Seconds(TimeSpan.FromMilliseconds(milliseconds)), Is.EqualTo(1));
    }

    [Test]
    public void A_refused_rolling_window_rounds_the_same_way()
    {
        var now = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var events = new[] { now - TimeSpan.FromSeconds(50.5), now - TimeSpan.FromSeconds(10) };
        var check = RollingWindow.Check(events, 2, TimeSpan.FromMinutes(1), now);

        Assert.That(check.Allowed, Is.False);
        Assert.That(check.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(9.5)));
        Assert.That(check.RetryAfterSeconds, Is.EqualTo(RetryDelay.Seconds(check.RetryAfter)).And.EqualTo(10));
        Assert.That(LimitCheck.Ok.Allowed, Is.True);
    }
}
