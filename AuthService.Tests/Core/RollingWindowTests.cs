using AuthService.Core.Policy;

namespace AuthService.Tests.Core;

public class RollingWindowTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Test]
    public void Events_that_left_the_window_do_not_count()
    {
        DateTimeOffset[] events = [Now - TimeSpan.FromSeconds(61), Now - Minute, Now - TimeSpan.FromSeconds(5)];

        Assert.That(RollingWindow.Check(events, 2, Minute, Now).Allowed, Is.True, "one live event of a limit of 2");
        Assert.That(RollingWindow.Check(events, 1, Minute, Now).Allowed, Is.False);
    }

    [Test]
    public void At_the_limit_the_wait_is_until_enough_of_the_oldest_live_events_expire_whatever_their_order()
    {
        DateTimeOffset[] events = [Now - TimeSpan.FromSeconds(10), Now - TimeSpan.FromSeconds(90), Now - TimeSpan.FromSeconds(40), Now - TimeSpan.FromSeconds(20)];

        var check = RollingWindow.Check(events, 2, Minute, Now);

        // Live: 40 s, 20 s and 10 s ago; the count drops under 2 once the two oldest (40 s and 20 s ago) have expired.
        Assert.That(check.Allowed, Is.False);
        Assert.That(check.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(40)));
        Assert.That(RollingWindow.Check([], 1, Minute, Now).Allowed, Is.True);
    }
}
