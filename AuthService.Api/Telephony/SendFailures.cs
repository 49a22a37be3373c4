namespace AuthService.Api.Telephony;

/// <summary>
/// Tells a failure that proves nothing reached the provider from one after which the message may exist (DESIGN §8.2
/// "no duplicate sends"). Only the first kind is retried or refunded; anything else (a reset or an early end of the
/// response once the request was written, a timeout, an unreadable answer) may have been taken by Telnyx.
/// </summary>
public static class SendFailures
{
    /// <summary>True when the connection was never made: refused (a TCP reset answering the connect), unreachable, a name
    /// that did not resolve, or a failed TLS handshake. SocketsHttpHandler reports these only before it writes a byte of
    /// the request; a reset while or after writing it is <see cref="HttpRequestError.Unknown"/> or
    /// <see cref="HttpRequestError.ResponseEnded"/>. (It never resends a request with a body by itself.)</summary>
    public static bool NothingSent(Exception exception) => exception is HttpRequestException
    {
        HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
    };
}
