using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace AuthService.Api.Telephony;

public static partial class TelephonyServiceCollectionExtensions
{
    /// <summary>The named resilience pipeline of the Telnyx client (visible in Polly telemetry).</summary>
    public const string TelnyxPipelineName = "telnyx";

    /// <summary>The named HttpClient of Telnyx: the sender's typed client, and the Number Lookup client (issue 25) that shares
    /// its handlers, hence its resilience pipeline and circuit breaker.</summary>
    public const string TelnyxClientName = nameof(ITelephonySender);

    /// <summary>The longest <c>Telephony:Telnyx:Resilience:TotalTimeout</c> accepted: a keyed challenge runs a number lookup and
    /// a send, each within it, and starts the send only while the send and 10 s to store its code fit in what is left of its
    /// 60 s Idempotency-Key lease (<c>IdempotentRequests.MaySendBy</c>). At 20 s, a lookup that runs to its timeout still
    /// leaves room for the send.</summary>
    public static readonly TimeSpan MaxTotalTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The largest Telnyx answer read (1 MiB).</summary>
    public const int MaxResponseBytes = 1 << 20;

    /// <summary>The configured provider: <c>Telephony:Provider</c>, unset meaning <c>log</c> in Development, <c>telnyx</c> elsewhere.</summary>
    public static string ProviderOf(IConfiguration configuration, IHostEnvironment environment) =>
        configuration[$"{TelephonyOptions.SectionName}:{nameof(TelephonyOptions.Provider)}"]?.Trim().ToLowerInvariant() switch
        {
            null or "" => environment.IsDevelopment() ? TelephonyOptions.Log : TelephonyOptions.Telnyx,
            var name => name,
        };

    /// <summary>
    /// Registers the <see cref="ITelephonySender"/> chosen by <c>Telephony:Provider</c> (<c>telnyx</c> or
    /// <c>log</c>; unset means <c>log</c> in Development, <c>telnyx</c> elsewhere). Throws
    /// <see cref="InvalidOperationException"/> at startup for the <c>log</c> sender in any environment but Development and for
    /// <c>telnyx</c> without credentials, so a misconfigured instance never starts taking logins.
    /// </summary>
    public static IServiceCollection AddTelephony(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(environment);

        var telephony = configuration.GetSection(TelephonyOptions.SectionName);
        services.AddOptions<TelephonyOptions>().Bind(telephony);
        var provider = ProviderOf(configuration, environment);

        switch (provider)
        {
            case TelephonyOptions.Log:
                // Fail safe: refused in every environment but Development, whatever its name (`Staging`, `prod`, a typo).
                if (!environment.IsDevelopment())
                {
                    throw new InvalidOperationException(
                        $"Telephony:Provider 'log' writes codes to the log and is for development only, and the environment is " +
                        $"'{environment.EnvironmentName}', not 'Development'; configure 'telnyx' (Telephony:Telnyx:*).");
                }

                services.TryAddSingleton<ITelephonySender, LogTelephonySender>();
                return services;

            case TelephonyOptions.Telnyx:
                var section = configuration.GetSection(TelnyxOptions.SectionName);
                Validate(section.Get<TelnyxOptions>() ?? new TelnyxOptions());
                services.AddOptions<TelnyxOptions>().Bind(section);
                AddTelnyxClient(services);
                return services;

            default:
                throw new InvalidOperationException($"Telephony:Provider must be 'telnyx' or 'log', not '{provider}'.");
        }
    }

    /// <summary>The shortest attempt the pipeline is built with (<c>Telephony:Telnyx:Resilience:AttemptTimeout</c>).</summary>
    internal static readonly TimeSpan MinAttemptTimeout = TimeSpan.FromMilliseconds(100);

    private static void Validate(TelnyxOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ApiKey))
            problems.Add("Telephony:Telnyx:ApiKey is missing");
        if (string.IsNullOrWhiteSpace(options.FromNumber) && string.IsNullOrWhiteSpace(options.MessagingProfileId))
            problems.Add("Telephony:Telnyx:FromNumber or Telephony:Telnyx:MessagingProfileId is needed to send SMS");
        // docker-compose.yml's placeholders: left in, every send would fail at Telnyx (a 502 per code) instead of here.
        foreach (var (key, value) in new[] { ("ApiKey", options.ApiKey), ("FromNumber", options.FromNumber), ("MessagingProfileId", options.MessagingProfileId) })
        {
            if (value?.Contains("CHANGE-ME", StringComparison.OrdinalIgnoreCase) == true)
                problems.Add($"Telephony:Telnyx:{key} is still a placeholder (CHANGE-ME)");
        }

        if (!string.IsNullOrWhiteSpace(options.FromNumber) && !options.FromNumber.Contains("CHANGE-ME", StringComparison.OrdinalIgnoreCase)
            && !TelnyxOptions.IsSendable(options.FromNumber))
            problems.Add("Telephony:Telnyx:FromNumber must be what Telnyx sends from: an E.164 number (+13125550100), a short code (3–8 " +
                         "digits) or an alphanumeric sender id (1–11 letters, digits or spaces, at least one letter)");
        if (options.NumberPool && string.IsNullOrWhiteSpace(options.MessagingProfileId))
            problems.Add("Telephony:Telnyx:NumberPool needs Telephony:Telnyx:MessagingProfileId (the profile whose pool sends)");
        // Telnyx's messages API: messaging_profile_id is "required if sending via number pool or with an alphanumeric sender ID";
        // a TeXML call's From is "the phone number of the party that initiated the call" (+ and country code).
        if (TelnyxOptions.IsSendable(options.FromNumber) && TelnyxOptions.IsSenderId(options.FromNumber)
            && string.IsNullOrWhiteSpace(options.MessagingProfileId))
            problems.Add("Telephony:Telnyx:FromNumber is an alphanumeric sender id, which Telnyx sends from only with " +
                         "Telephony:Telnyx:MessagingProfileId: set it too");
        if (!string.IsNullOrWhiteSpace(options.AccountSid) && !string.IsNullOrWhiteSpace(options.TexmlApplicationId)
            && !string.IsNullOrWhiteSpace(options.FromNumber) && !TelnyxOptions.IsE164(options.FromNumber)
            && !options.FromNumber.Contains("CHANGE-ME", StringComparison.OrdinalIgnoreCase))
            problems.Add("Telephony:Telnyx:FromNumber is the calls' caller id (AccountSid and TexmlApplicationId are set), so it must be " +
                         "an E.164 number: a short code or a sender id can only send SMS");
        if (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("https" or "http"))
            problems.Add("Telephony:Telnyx:BaseUrl must be an absolute http(s) URL");

        var r = options.Resilience;
        // Polly takes timeouts of 10 ms or more, and the connection gets half of an attempt: 100 ms leaves it 50.
        if (r.AttemptTimeout < MinAttemptTimeout || r.TotalTimeout < r.AttemptTimeout)
            problems.Add($"Telephony:Telnyx:Resilience needs {MinAttemptTimeout.TotalMilliseconds:0} ms <= AttemptTimeout <= TotalTimeout");
        if (r.ConnectTimeout is { } connect && connect <= TimeSpan.Zero)
            problems.Add("Telephony:Telnyx:Resilience:ConnectTimeout must be above 0");
        if (r.RetryBaseDelay < TimeSpan.Zero || r.RetryBaseDelay > r.TotalTimeout)
            problems.Add("Telephony:Telnyx:Resilience:RetryBaseDelay must be between 0 and TotalTimeout");
        if (r.TotalTimeout > MaxTotalTimeout)
            problems.Add($"Telephony:Telnyx:Resilience:TotalTimeout must be at most {MaxTotalTimeout.TotalSeconds:0} s (a challenge's lookup and send must fit in its {Storage.IdempotencyStore.Lease.TotalSeconds:0} s Idempotency-Key lease)");
        if (r.MaxRetryAttempts is < 0 or > 5)
            problems.Add("Telephony:Telnyx:Resilience:MaxRetryAttempts must be between 0 and 5");
        if (r.CircuitFailureRatio is <= 0 or > 1 || r.CircuitMinimumThroughput < 2
            || r.CircuitSamplingDuration < TimeSpan.FromMilliseconds(500) || r.CircuitBreakDuration < TimeSpan.FromMilliseconds(500)
            || r.CircuitSamplingDuration > TimeSpan.FromDays(1) || r.CircuitBreakDuration > TimeSpan.FromDays(1))
            // Polly's own ranges, checked here: Polly checks them only when the first request builds the pipeline, a 500 then.
            problems.Add("Telephony:Telnyx:Resilience circuit settings are out of range (CircuitFailureRatio above 0 and at most 1, " +
                         "CircuitMinimumThroughput at least 2, CircuitSamplingDuration and CircuitBreakDuration from 00:00:00.5 to 1.00:00:00)");

        if (problems.Count > 0)
            throw new InvalidOperationException("Telephony:Provider 'telnyx' is misconfigured: " + string.Join("; ", problems) + ".");
    }

    private static void AddTelnyxClient(IServiceCollection services)
    {
        // The pipeline's timeouts, backoff and break duration run on this clock; tests register a fake one.
        services.TryAddSingleton(TimeProvider.System);

        var telnyx = services.AddHttpClient<ITelephonySender, TelnyxTelephonySender>(TelnyxClientName, (sp, client) =>
            {
                var options = sp.GetRequiredService<IOptions<TelnyxOptions>>().Value;
                client.BaseAddress = new Uri(options.BaseUrl.TrimEnd('/') + "/");
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
                client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                // The pipeline owns every timeout, the answer's body included (TelnyxAnswerBuffer); HttpClient's own 100 s one would
                // only race it.
                client.Timeout = Timeout.InfiniteTimeSpan;
                // Telnyx answers a few hundred bytes; a proxy's page of megabytes is not read into memory (TelnyxAnswerBuffer
                // drops such a body inside the pipeline; this bounds HttpClient's own read as well).
                client.MaxResponseContentBufferSize = MaxResponseBytes;
            })
            // Telnyx's API never redirects. A redirect would turn the POST into a GET elsewhere and report its answer as
            // Telnyx's; a 3xx is instead a refusal that sent nothing. The sender is held by singletons, so its handler is
            // never rotated by the factory: its pooled connections are renewed every 2 minutes instead, and a change of
            // Telnyx's addresses is picked up (the factory's own handler does the same). A connection (TCP and TLS) not made
            // within Resilience:ConnectTimeout (half an attempt by default) is given up as never made: nothing was sent, so it is retried (TelnyxAnswerBuffer);
            // left to the attempt's timeout, a stalled handshake would count as a send that may have reached Telnyx.
            .ConfigurePrimaryHttpMessageHandler(services => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                ConnectTimeout = services.GetRequiredService<IOptions<TelnyxOptions>>().Value.Resilience.EffectiveConnectTimeout,
            })
            // No HttpClient logging: its scope (opened whatever the category's level) carries each request's URI onto every line
            // logged inside the request, Polly's and ours included, and a Number Lookup's URI holds the full phone number; at
            // Trace its header lines carry the API key. The sender and the lookup log their own lines, with the number masked.
            .RemoveAllLoggers();
        telnyx.AddResilienceHandler(TelnyxPipelineName, (pipeline, context) =>
        {
            var r = context.ServiceProvider.GetRequiredService<IOptions<TelnyxOptions>>().Value.Resilience;
            var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TelnyxTelephonySender).FullName!);
            ConfigurePipeline(pipeline, r, logger);
        });
        // Inside the pipeline: each attempt's timeout covers its answer's body too, and the breaker counts a stalled one.
        telnyx.AddHttpMessageHandler(() => new TelnyxAnswerBuffer());
    }

    /// <summary>
    /// Outermost to innermost: total timeout → retry → circuit breaker → per-attempt timeout, so that
    /// every attempt counts towards the breaker and the whole send stays bounded.
    /// </summary>
    private static void ConfigurePipeline(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, TelnyxResilienceOptions r, ILogger logger)
    {
        pipeline.AddTimeout(r.TotalTimeout);

        // A retry re-sends the same code, and a text or call that arrives twice is confusing and
        // costly, and resend storms queue at Telnyx (about one SMS per 10 s per long code). So only
        // failures that prove Telnyx did NOT take the message are retried (DESIGN §8.2):
        //  - the connection was never made: refused, unreachable, DNS, TLS handshake (SendFailures);
        //  - 429: Telnyx refused the request under its rate limit, nothing was queued;
        //  - 503: the service refused the request before handling it.
        // Not retried: a connection reset or closed once the request was written (Telnyx may have
        // recorded the message before the connection broke), 500/502/504 (the message may be queued
        // behind a failing gateway or proxy), 4xx rejections (a resend gets the same answer), and a
        // per-attempt timeout (the request reached Telnyx and may be in progress). The user can
        // always ask for a new code, which beats two codes arriving on their own.
        if (r.MaxRetryAttempts > 0) // Polly refuses a retry strategy with no retries
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = r.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = r.RetryBaseDelay,
                // Bounded by the total timeout above; a wait it cuts short ends a send that was not sent (TelnyxAttempts).
                ShouldRetryAfterHeader = true,
                OnRetry = args =>
                {
                    logger.LogWarning("Telnyx attempt {Attempt} failed before anything was sent ({Outcome}); retrying in {DelayMs} ms",
                        args.AttemptNumber + 1, args.Outcome.Exception?.GetType().Name ?? $"HTTP {(int?)args.Outcome.Result?.StatusCode}",
                        (int)args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: { } e } => SendFailures.NothingSent(e),
                    { Result.StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable } => true,
                    _ => false,
                }),
            });
        }

        // Counts connection failures, timeouts, 408, 429 and 5xx (the default predicate), not 4xx
        // rejections, which say something about one request rather than about Telnyx's health. Also an attempt cut by the
        // total timeout (a retry after a long wait has less time left than an attempt's timeout): unhandled, Polly takes it
        // for a success, and as the half-open trial it would close the circuit on a Telnyx that just stalled.
        pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(
                HttpClientResiliencePredicates.IsTransient(args.Outcome) || TelnyxAttempts.CutByTotalTimeout(args.Outcome.Exception)),
            FailureRatio = r.CircuitFailureRatio,
            SamplingDuration = r.CircuitSamplingDuration,
            MinimumThroughput = r.CircuitMinimumThroughput,
            BreakDuration = r.CircuitBreakDuration,
            OnOpened = _ =>
            {
                Observability.ServiceMetrics.TelephonyCircuit.Set(1);
                return ValueTask.CompletedTask;
            },
            OnHalfOpened = _ =>
            {
                Observability.ServiceMetrics.TelephonyCircuit.Set(2);
                return ValueTask.CompletedTask;
            },
            OnClosed = _ =>
            {
                Observability.ServiceMetrics.TelephonyCircuit.Set(0);
                return ValueTask.CompletedTask;
            },
        });

        pipeline.AddTimeout(r.AttemptTimeout);
    }

}
