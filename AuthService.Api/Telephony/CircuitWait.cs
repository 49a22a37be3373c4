using Polly.CircuitBreaker;

namespace AuthService.Api.Telephony;

/// <summary>The Retry-After of an answer that Telnyx's failure caused: <c>floor</c> seconds, or, when the failure was the open
/// circuit (<c>Telephony:Telnyx:Resilience:CircuitBreakDuration</c>, 30 s by default, up to a day), until it may close. A client
/// told less would retry into the open circuit and be refused again.</summary>
public static class CircuitWait
{
    public static int Seconds(Exception? failure, int floor) =>
        failure is BrokenCircuitException { RetryAfter: { } wait } ? Math.Max(floor, (int)Math.Ceiling(wait.TotalSeconds)) : floor;
}
