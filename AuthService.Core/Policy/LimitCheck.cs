namespace AuthService.Core.Policy;

/// <summary>Outcome of a rolling-window limit: allowed, or refused with how long until a slot frees up.</summary>
public readonly record struct LimitCheck(bool Allowed, TimeSpan RetryAfter)
{
    public static readonly LimitCheck Ok = new(true, TimeSpan.Zero);

    /// <summary>Whole seconds for the Retry-After header (<see cref="RetryDelay.Seconds"/>).</summary>
    public int RetryAfterSeconds => RetryDelay.Seconds(RetryAfter);
}
