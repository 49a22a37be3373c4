namespace AuthService.Api.Telephony;

/// <summary>The provider refused, failed or timed out. <see cref="Transient"/> says whether a later
/// retry may succeed (maps to 503) or the request itself was rejected (maps to 502).</summary>
public sealed class TelephonyUnavailableException(string message, bool transient, Exception? inner = null, bool mayHaveBeenDelivered = false)
    : Exception(message, inner)
{
    public bool Transient { get; } = transient;

    /// <summary>The provider may have taken the message before failing (a timeout, 500/502/504): the delivery
    /// still counts against the daily budget, so an attacker cannot pump messages through provider errors.</summary>
    public bool MayHaveBeenDelivered { get; } = mayHaveBeenDelivered;
}
