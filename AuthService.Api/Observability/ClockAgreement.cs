namespace AuthService.Api.Observability;

/// <summary>
/// Whether this instance's clock agrees with the database's, as the last comparison found it. Health's <c>ClockSkewCheck</c>
/// compares them on every readiness probe and every <c>Health:ClockSamplePeriod</c> (docs/SECURITY.md §7.10) and records the
/// verdict here. Readiness takes a disagreeing instance out of the load balancer, but not its background jobs: housekeeping
/// and the webhook dispatcher decide expiries on the same clock (which codes and claims are past use, which delivery is due
/// or has been retried long enough), so they read this and skip their work while the clock is off, instead of deleting the
/// live codes of every instance's users.
/// </summary>
public sealed class ClockAgreement
{
    private volatile string? _disagreement;

    /// <summary>Why this instance's clock is not to be trusted, or null: it agrees, it was not compared yet, or it is never
    /// compared (<c>Health:ClockSkewCheck=false</c>).</summary>
    public string? Disagreement => _disagreement;

    public void Record(string? disagreement) => _disagreement = disagreement;
}
