namespace AuthService.Api.Webhooks;

/// <summary>When a failed delivery is tried next: exponential (first delay doubling per attempt, capped) with ±20 %
/// jitter, so receivers coming back are not hit by every instance's retries in the same second.</summary>
public static class WebhookBackoff
{
    public static TimeSpan Delay(int attemptsSoFar, TimeSpan first, TimeSpan max, double random)
    {
        var exponential = first.TotalSeconds * Math.Pow(2, Math.Clamp(attemptsSoFar - 1, 0, 30));
        var capped = Math.Min(exponential, max.TotalSeconds);
        return TimeSpan.FromSeconds(capped * (0.8 + 0.4 * random));
    }
}
