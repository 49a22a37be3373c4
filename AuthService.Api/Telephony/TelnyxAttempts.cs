namespace AuthService.Api.Telephony;

/// <summary>Whether an attempt of the current exchange with Telnyx is in flight, for the sender to read a timeout: one that
/// ends an attempt in flight may come after Telnyx took the message; one that ends the exchange between attempts (during a
/// backoff or a <c>Retry-After</c> wait) comes after attempts that each proved nothing was sent, since only those are retried.
/// <see cref="Begin"/> starts an exchange on the current async flow; <see cref="TelnyxAnswerBuffer"/>, the innermost handler,
/// marks each attempt.</summary>
public sealed class TelnyxAttempts
{
    private static readonly AsyncLocal<TelnyxAttempts?> Exchange = new();
    private int _inFlight;

    public static TelnyxAttempts Begin() => Exchange.Value = new TelnyxAttempts();

    internal static TelnyxAttempts? Current => Exchange.Value;

    public bool InFlight => Volatile.Read(ref _inFlight) == 1;

    internal void Started() => Volatile.Write(ref _inFlight, 1);

    internal void Ended() => Volatile.Write(ref _inFlight, 0);
}
