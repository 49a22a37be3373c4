namespace AuthService.Core.Policy;

/// <summary>At most <c>limit</c> events in any <c>window</c> ending now. Given the events already in the window
/// (oldest first), the next one is allowed when fewer than <c>limit</c> remain; otherwise it may happen once the
/// oldest event that keeps the count at the limit has left the window.</summary>
public static class RollingWindow
{
    public static LimitCheck Check(IReadOnlyList<DateTimeOffset> eventsInWindow, int limit, TimeSpan window, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var cutoff = now - window;
        var count = 0;
        for (var i = 0; i < eventsInWindow.Count; i++) // counted first, without allocating: most checks are far under the limit
        {
            if (eventsInWindow[i] > cutoff)
            {
                count++;
            }
        }

        if (count < limit)
        {
            return LimitCheck.Ok;
        }

        var live = eventsInWindow.Where(e => e > cutoff).OrderBy(e => e).ToList();

        // Once the (count - limit + 1) oldest events have expired, the count drops below the limit.
        var freesUpAt = live[live.Count - limit] + window;
        return new LimitCheck(false, freesUpAt - now);
    }
}
