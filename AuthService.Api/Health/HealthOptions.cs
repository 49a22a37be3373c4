namespace AuthService.Api.Health;

/// <summary><c>Health:*</c>: what readiness checks besides the database and its migrations.</summary>
public sealed class HealthOptions
{
    /// <summary>Compare this instance's clock with the database's on every readiness probe (and every
    /// <see cref="ClockSamplePeriod"/>), export the difference as <c>authservice_clock_skew_seconds</c>, and answer 503
    /// while it exceeds <see cref="MaxClockSkew"/>. Default true; the in-process tests, whose clock is a fake one set years
    /// off the database's, switch it off.</summary>
    public bool ClockSkewCheck { get; set; } = true;

    /// <summary>The largest difference between this instance's clock and the database's that readiness accepts.
    /// Rolling windows, expiries and TOTP steps are decided on the instance's clock, so two instances whose clocks
    /// differ decide them differently.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the clock is compared between readiness probes, so the metric stays current on a deployment
    /// that does not probe readiness.</summary>
    public TimeSpan ClockSamplePeriod { get; set; } = TimeSpan.FromSeconds(30);

    internal bool Validate() => MaxClockSkew > TimeSpan.Zero && ClockSamplePeriod >= TimeSpan.FromSeconds(1) && ClockSamplePeriod <= TimeSpan.FromDays(1);
}
