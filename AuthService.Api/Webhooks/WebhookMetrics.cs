using Prometheus;

namespace AuthService.Api.Webhooks;

/// <summary>Webhook metrics at <c>/metrics</c> (labels: outcomes only).</summary>
public static class WebhookMetrics
{
    public static readonly Counter Deliveries = Metrics.CreateCounter("authservice_webhook_deliveries_total",
        "Webhook delivery attempts by outcome: delivered, http_error, timeout, network_error, refused (SSRF guard, or http:// while insecure URLs are off), " +
        "secret_unreadable (the endpoint's secret does not open with this instance's key ring); " +
        "failed counts deliveries given up after Webhooks:RetryFor.",
        new CounterConfiguration { LabelNames = ["outcome"] });

    public static readonly Gauge OutboxDepth = Metrics.CreateGauge("authservice_webhook_outbox_depth",
        "Webhook deliveries not yet delivered or given up (all instances, as last seen by this one).");

    public static readonly Gauge OldestPendingAge = Metrics.CreateGauge("authservice_webhook_oldest_pending_age_seconds",
        "Age of the oldest undelivered webhook delivery (0 when none).");
}
