namespace AuthService.Bench.Load;

/// <summary>Hands out users round-robin so that no user is used twice within one 30-s step (a second code of the
/// same step would be a replay and rightly rejected). Fails when every user has been used in the current step.</summary>
public sealed class UserPool(int count)
{
    private readonly long[] _lastStep = Enumerable.Repeat(-1L, count).ToArray();
    private long _cursor = -1;

    public int Count => count;

    public bool TryTake(long step, out int user)
    {
        for (var tries = 0; tries < count; tries++)
        {
            user = (int)((ulong)Interlocked.Increment(ref _cursor) % (ulong)count);
            var last = Volatile.Read(ref _lastStep[user]);
            if (last < step && Interlocked.CompareExchange(ref _lastStep[user], step, last) == last)
            {
                return true;
            }
        }

        user = -1;
        return false;
    }

    /// <summary>Marks <paramref name="user"/> as used up to <paramref name="step"/>: the service records the latest step
    /// a code matches, so a code that a later step shares uses that step too (<see cref="AuthService.Core.Totp.TotpVerifier"/>).</summary>
    public void UsedThrough(int user, long step)
    {
        var last = Volatile.Read(ref _lastStep[user]);
        while (last < step)
        {
            var seen = Interlocked.CompareExchange(ref _lastStep[user], step, last);
            if (seen == last)
            {
                return;
            }

            last = seen;
        }
    }

    /// <summary>Plain round-robin for paths that consume nothing (ceiling, login decisions).</summary>
    public int Next() => (int)((ulong)Interlocked.Increment(ref _cursor) % (ulong)count);
}
