using Prometheus;

namespace AuthService.Api.Observability;

/// <summary>Prometheus metrics of this instance, served at <c>/metrics</c>. Labels carry outcomes and channels only,
/// never user ids, numbers or codes (bounded cardinality, nothing secret).</summary>
public static class ServiceMetrics
{
    public static readonly Counter Verifications = Metrics.CreateCounter("authservice_verifications_total",
        "Second-factor verifications (login, enrollment and switch confirmations, proofs) by method and outcome.",
        new CounterConfiguration { LabelNames = ["method", "outcome"] });

    public static readonly Counter Deliveries = Metrics.CreateCounter("authservice_code_deliveries_total",
        "Phone code deliveries by channel and outcome (sent, failed, unknown, rate_limited, capped, too_late).",
        new CounterConfiguration { LabelNames = ["channel", "outcome"] });

    public static readonly Counter LimitHits = Metrics.CreateCounter("authservice_limit_hits_total",
        "Requests refused by an abuse limit (daily_requests, unconfirmed_number_daily, attempts_per_minute).",
        new CounterConfiguration { LabelNames = ["limit"] });

    public static readonly Counter Lockouts = Metrics.CreateCounter("authservice_lockouts_total",
        "Second factors locked after too many consecutive failures.");

    public static readonly Gauge TelephonyCircuit = Metrics.CreateGauge("authservice_telephony_circuit_state",
        "Telephony circuit breaker: 0 closed, 1 open, 2 half-open.");

    /// <summary>Logins per coalesced TOTP batch (one locked read, one commit each): small batches under load mean more
    /// commits per login.</summary>
    public static readonly Histogram LoginBatchSize = Metrics.CreateHistogram("authservice_login_batch_size",
        "TOTP logins decided and committed together in one coalesced batch.",
        new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64] });

    /// <summary>Logins still queued when the last batch started; the queue holds 1,024, and a full queue answers 503.</summary>
    public static readonly Gauge LoginQueue = Metrics.CreateGauge("authservice_login_queue_waiting",
        "TOTP logins still waiting for a coalesced batch when the last batch started (capacity 1,024; beyond it 503).");

    /// <summary>Not exported until first measured (never with <c>Health:ClockSkewCheck=false</c>).</summary>
    public static readonly Gauge ClockSkew = Metrics.CreateGauge("authservice_clock_skew_seconds",
        "This instance's clock minus the database's (clock_timestamp(), corrected for half the round trip), in seconds, as " +
        "last measured by readiness or the periodic sample; readiness fails beyond Health:MaxClockSkew.",
        new GaugeConfiguration { SuppressInitialValue = true });

    /// <summary>The .NET meters published at <c>/metrics</c>: the runtime's, Kestrel's connections, the outbound HTTP client's
    /// (telephony, webhooks) and Npgsql's (pool size, and the duration of each command or batch). Not the per-request meters
    /// of ASP.NET Core (hosting, routing, authentication, memory pool), which <c>http_request_duration_seconds</c> already
    /// covers and which, once listened to, record on every request.</summary>
    public static readonly IReadOnlySet<string> PublishedMeters =
        new HashSet<string>(["System.Runtime", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "Npgsql"], StringComparer.Ordinal);

    public static WebApplication UseServiceMetrics(this WebApplication app)
    {
        // prometheus-net starts its default listeners at the first scrape. Its event-counter adapter enables every
        // ASP.NET Core and System.Net EventSource at Informational level, which turns on Kestrel's and hosting's events
        // for every request (an EventWrittenEventArgs and its strings each), for counters the runtime meter already
        // gives; and its meter adapter listens to every meter. Issue 27's allocation trace found both on the verify path.
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true });
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = instrument => PublishedMeters.Contains(instrument.Meter.Name));

        // A method HTTP does not define is a 405 (404 on a path that does not exist) before the metrics see it
        // (UseStatusCodePages writes the problem): their `method` label is the request's method, and any token a client made
        // up would be a new series for the life of the process. A defined method in another spelling (`gEt`; `fetch` sends
        // `patch` as written) is served, as routing matches it, but measured under its canonical name: Kestrel keeps it as
        // sent, and each spelling was a series of its own.
        app.Use((context, next) =>
        {
            var method = context.Request.Method;
            if (IsStandardMethod(method))
            {
                var canonical = HttpMethods.GetCanonicalizedValue(method);
                if (!string.Equals(canonical, method, StringComparison.Ordinal))
                {
                    context.Request.Method = canonical; // only another spelling: the usual one is left as Kestrel parsed it
                }

                return next(context);
            }

            context.Response.StatusCode = context.GetEndpoint() is null ? StatusCodes.Status404NotFound : StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        });

        // Request latency histograms by route template (not by raw path, which holds user ids).
        // The request count (http_requests_received_total) is left out: it is the latency histogram's _count again, and a
        // middleware and a labelled counter more on every request.
        app.UseHttpMetrics(options =>
        {
            options.ReduceStatusCodeCardinality();
            options.RequestCount.Enabled = false;
        });
        return app;
    }

    /// <summary>The methods RFC 9110 and RFC 5789 define, in any spelling: canonicalized, the only values the request metrics'
    /// <c>method</c> label takes.</summary>
    private static bool IsStandardMethod(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) ||
        HttpMethods.IsDelete(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method) ||
        HttpMethods.IsConnect(method);

    public static IEndpointRouteBuilder MapServiceMetrics(this IEndpointRouteBuilder routes)
    {
        routes.MapMetrics("/metrics").WithMetadata(new HttpMethodMetadata([HttpMethods.Get])).ExcludeFromDescription(); // GET only, as documented
        return routes;
    }
}
