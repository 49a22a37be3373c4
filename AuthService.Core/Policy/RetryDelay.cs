namespace AuthService.Core.Policy;

/// <summary>How a wait is told to the client (<c>retryAfter</c> and the <c>Retry-After</c> header): whole seconds, rounded up so a
/// client that waits exactly that long is not refused again, and never less than 1.</summary>
public static class RetryDelay
{
    public static int Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}
