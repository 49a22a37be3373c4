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

    private CancellationToken _caller;

    /// <param name="caller">The sender's caller's token: a cancellation of it says nothing about Telnyx.</param>
    public static TelnyxAttempts Begin(CancellationToken caller = default) => Exchange.Value = new TelnyxAttempts { _caller = caller };

    internal static TelnyxAttempts? Current => Exchange.Value;

    public bool InFlight => Volatile.Read(ref _inFlight) == 1;

    /// <summary>True when an attempt of the current exchange that ended in an <see cref="OperationCanceledException"/> was cut
    /// by the pipeline's total timeout rather than by the caller, so it counts against Telnyx's health like an attempt's own
    /// timeout. Outside an exchange (no <see cref="Begin"/>) the caller is unknown and the cancellation counts too.</summary>
    internal static bool CutByTotalTimeout(Exception? exception) =>
        exception is OperationCanceledException && Current is not { _caller.IsCancellationRequested: true };

    internal void Started() => Volatile.Write(ref _inFlight, 1);

    internal void Ended() => Volatile.Write(ref _inFlight, 0);
}
