using Prometheus;

namespace AuthService.Api.Observability;

/// <summary>Prometheus metrics of the telephony abuse and cost controls (DESIGN §8.2), for alerting. Labels are bounded:
/// a decision, a reason from a fixed set and an ISO 3166 country code (<c>001</c> non-geographic, <c>ZZ</c> unknown).</summary>
public static class TelephonyMetrics
{
    public const string Allowed = "allowed";
    public const string Blocked = "blocked";

    /// <summary>Reasons: <c>ok</c>; <c>number_type</c>, <c>country</c>, <c>non_geographic</c>, <c>profile_country</c> (destination refused);
    /// <c>user_daily</c>, <c>number_daily</c>, <c>unconfirmed_number_daily</c> (budgets); <c>daily_cap</c>,
    /// <c>country_hourly_cap</c> (deployment caps: blocked in enforce mode, allowed but counted in monitor mode).</summary>
    public static readonly Counter Sends = Metrics.CreateCounter("authservice_telephony_sends_total",
        "Code sends decided by the telephony fraud and cost controls, by decision (allowed, blocked), reason and destination country.",
        new CounterConfiguration { LabelNames = ["decision", "reason", "country"] });

    /// <summary>1 while the last send of this instance found a deployment cap reached (in either mode), else 0.</summary>
    public static readonly Gauge CapReached = Metrics.CreateGauge("authservice_telephony_cap_reached",
        "1 when the last send on this instance found a deployment-wide telephony cap reached (daily or per-country hourly), else 0.",
        new GaugeConfiguration { LabelNames = ["cap"] });

    public static void Count(string decision, string reason, string country) => Sends.WithLabels(decision, reason, country).Inc();
}
