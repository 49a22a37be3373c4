namespace AuthService.Core.Policy;

/// <summary>The per-user attempt limits (DESIGN §4): failed verifications per rolling minute, and consecutive failures that
/// lock the factor (NIST SP 800-63B §5.2.2).</summary>
public sealed record AttemptLimits(int AttemptsPerMinute, int LockoutThreshold)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
}

/// <summary>What a user's attempt state allows before a code is checked.</summary>
public enum AttemptGate
{
    /// <summary>The code may be checked; its outcome must be recorded (accepted, or counted as a failure).</summary>
    Open,

    /// <summary>The factor is locked: nothing is checked until a support reset.</summary>
    Locked,

    /// <summary>The per-minute limit is reached: nothing is checked, not even a right code.</summary>
    Limited,
}

/// <summary>The user's attempt state as read under the user's lock.</summary>
public sealed record AttemptState(bool Locked, IReadOnlyList<DateTimeOffset> RecentFailures, int FailedConsecutive);

/// <summary>The one decision of DESIGN §8.1, used by every path that checks a code: a code is checked only when the gate is
/// open at that moment (not locked, fewer than the limit of failures in the rolling minute), and every checked code is then
/// either accepted or counted as a failure. Callers hold the user's lock from reading the state to recording the outcome.</summary>
public static class AttemptRules
{
    public static (AttemptGate Gate, LimitCheck Limit) Check(AttemptState state, AttemptLimits limits, DateTimeOffset now)
    {
        if (state.Locked)
        {
            return (AttemptGate.Locked, LimitCheck.Ok);
        }

        var limit = RollingWindow.Check(state.RecentFailures, limits.AttemptsPerMinute, AttemptLimits.Window, now);
        return (limit.Allowed ? AttemptGate.Open : AttemptGate.Limited, limit);
    }

    /// <summary>The state after one more failure at <paramref name="now"/>; <c>LocksNow</c> when this failure reaches the
    /// lockout threshold.</summary>
    public static (AttemptState State, bool LocksNow) AfterFailure(AttemptState state, AttemptLimits limits, DateTimeOffset now)
    {
        var consecutive = state.FailedConsecutive + 1;
        var locksNow = !state.Locked && consecutive >= limits.LockoutThreshold;
        return (new AttemptState(state.Locked || locksNow, [.. state.RecentFailures, now], consecutive), locksNow);
    }

    /// <summary>A success resets the consecutive count; the failures stay in the rolling window.</summary>
    public static AttemptState AfterSuccess(AttemptState state) => state with { FailedConsecutive = 0 };
}
