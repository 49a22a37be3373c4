namespace AuthService.Api.Telephony;

/// <summary>Telnyx API v2 settings: configuration section <c>Telephony:Telnyx</c>.</summary>
public sealed partial class TelnyxOptions
{
    public const string SectionName = "Telephony:Telnyx";

    /// <summary>API base including the version segment, e.g. <c>https://api.telnyx.com/v2</c>.</summary>
    public string BaseUrl { get; set; } = "https://api.telnyx.com/v2";

    /// <summary>Sent as <c>Authorization: Bearer …</c>. Required.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The caller id for calls, and the SMS sender unless <see cref="NumberPool"/>. SMS needs this or <see cref="MessagingProfileId"/>.</summary>
    public string? FromNumber { get; set; }

    /// <summary>The messaging profile SMS go out through when there is no <see cref="FromNumber"/>, or with <see cref="NumberPool"/>.</summary>
    public string? MessagingProfileId { get; set; }

    /// <summary>True: SMS go out through <see cref="MessagingProfileId"/>'s number pool (no <c>from</c>: Telnyx picks the number),
    /// even where <see cref="FromNumber"/> is set as the calls' caller id. False (the default): SMS are sent from
    /// <see cref="FromNumber"/> when it is set.</summary>
    public bool NumberPool { get; set; }

    /// <summary>The <c>account_sid</c> path segment of TeXML calls. Required for voice.</summary>
    public string? AccountSid { get; set; }

    /// <summary>The TeXML application (<c>ApplicationSid</c>) that places calls. Required for voice.</summary>
    public string? TexmlApplicationId { get; set; }

    /// <summary>Timeouts, retries and circuit breaker of the HTTP client: <c>Telephony:Telnyx:Resilience</c>.</summary>
    public TelnyxResilienceOptions Resilience { get; set; } = new();

    /// <summary>Calls need the TeXML account and application, and a caller id that is a number (+ and country code).</summary>
    internal bool VoiceConfigured =>
        !string.IsNullOrWhiteSpace(AccountSid) && !string.IsNullOrWhiteSpace(TexmlApplicationId) && IsE164(FromNumber);

    /// <summary>A sending address Telnyx takes as <c>from</c> (its messages API: a +E.164 number, a short code or an
    /// alphanumeric sender id).</summary>
    internal static bool IsSendable(string? from) => from is not null && Sendable().IsMatch(from);

    /// <summary>A +E.164 number (the form a caller id takes).</summary>
    internal static bool IsE164(string? from) => from is not null && E164().IsMatch(from);

    /// <summary>An alphanumeric sender id (at least one letter), as opposed to a number or a short code.</summary>
    internal static bool IsSenderId(string? from) => from is not null && from.Any(char.IsAsciiLetter);

    [System.Text.RegularExpressions.GeneratedRegex(@"^\+[1-9][0-9]{1,14}$")]
    private static partial System.Text.RegularExpressions.Regex E164();

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\+[1-9][0-9]{1,14}|[0-9]{3,8}|(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11})$")]
    private static partial System.Text.RegularExpressions.Regex Sendable();
}

/// <summary>Resilience thresholds for the Telnyx client. Defaults suit one user waiting on a login screen.</summary>
public sealed class TelnyxResilienceOptions
{
    /// <summary>Upper bound for one send including retries and backoff.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>One HTTP attempt; after it the request may have reached Telnyx, so it is not retried.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A connection (TCP and TLS) not made within this counts as refused: nothing was sent, so it is retried. Default:
    /// half of <see cref="AttemptTimeout"/>. It runs on the real clock, where the attempts' timeouts run on the service's.</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary><see cref="ConnectTimeout"/>, or half an attempt.</summary>
    public TimeSpan EffectiveConnectTimeout => ConnectTimeout ?? AttemptTimeout / 2;

    /// <summary>Retries after the first attempt, only for failures where a resend cannot double-deliver.</summary>
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>Base of the jittered exponential backoff (a Retry-After header wins when present).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public double CircuitFailureRatio { get; set; } = 0.5;
    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);
    public int CircuitMinimumThroughput { get; set; } = 5;
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}
