namespace AuthService.Api.Webhooks;

/// <summary><c>Webhooks:*</c> (DESIGN §8.3). The two SSRF switches default to on in Development only, so a development
/// portal on localhost can subscribe without configuration, and to off in every other environment (fail safe:
/// Staging, `prod` or a misspelt name are treated as Production).</summary>
public sealed class WebhookOptions
{
    /// <summary>Allows <c>http://</c> endpoint URLs. Default: true in Development, false elsewhere.</summary>
    public bool? AllowInsecure { get; set; }

    /// <summary>Allows loopback, private, link-local and other non-public addresses, checked on the address the
    /// request actually connects to. Default: true in Development, false elsewhere.</summary>
    public bool? AllowPrivateNetworks { get; set; }

    /// <summary>Whether this instance runs the dispatcher (every instance does by default).</summary>
    public bool Dispatch { get; set; } = true;

    /// <summary>How often an idle dispatcher looks for due deliveries.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>One delivery attempt, connect to last byte: a hanging receiver costs at most this.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a delivery is retried before it is marked failed (at least 24 h).</summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromHours(25);

    /// <summary>First retry delay; it doubles per attempt (with ±20 % jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Deliveries sent concurrently by one dispatcher pass.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Delivered and failed rows are pruned after this long (the deliveries view shows them until then).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    internal bool Validate() =>
        // Timeout within Polly's range (it checks only when the first delivery builds the pipeline); PollInterval within a delay's.
        PollInterval > TimeSpan.Zero && PollInterval <= TimeSpan.FromDays(1) &&
        Timeout >= TimeSpan.FromMilliseconds(10) && Timeout <= TimeSpan.FromDays(1) && RetryFor >= TimeSpan.FromHours(24) &&
        FirstBackoff > TimeSpan.Zero && MaxBackoff >= FirstBackoff && BatchSize is >= 1 and <= 100 && Retention > TimeSpan.Zero;
}
