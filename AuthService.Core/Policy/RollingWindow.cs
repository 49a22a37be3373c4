namespace AuthService.Core.Policy;

/// <summary>At most <c>limit</c> events in any <c>window</c> ending now. Given the events already in the window
/// (oldest first), the next one is allowed when fewer than <c>limit</c> remain; otherwise it may happen once the
/// oldest event that keeps the count at the limit has left the window.</summary>
public static class RollingWindow
{
    public static LimitCheck Check(IReadOnlyList<DateTimeOffset> eventsInWindow, int limit, TimeSpan window, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var live = eventsInWindow.Where(e => e > now - window).OrderBy(e => e).ToList();
        if (live.Count < limit)
        {
            return LimitCheck.Ok;
        }

        // Once the (count - limit + 1) oldest events have expired, the count drops below the limit.
        var freesUpAt = live[live.Count - limit] + window;
        return new LimitCheck(false, freesUpAt - now);
    }
}
