namespace AuthService.Api.Telephony;

/// <summary>Reads each Telnyx answer's body inside the resilience pipeline, innermost, so the per-attempt timeout bounds it
/// and the circuit breaker counts an answer that stalls after its headers like any other timeout; without this, HttpClient
/// reads the body after the pipeline has ended. The status line and headers are the answer: a body over
/// <see cref="TelephonyServiceCollectionExtensions.MaxResponseBytes"/> or broken part-way is dropped and the status kept
/// (a 2xx was accepted, a 503 refused), and the body is read as empty.</summary>
public sealed class TelnyxAnswerBuffer : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var attempts = TelnyxAttempts.Current;
        attempts?.Started();
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            attempts?.Ended(); // the attempt failed by itself (not by a timeout): the pipeline decides whether it was sent
            throw;
        }
        catch (OperationCanceledException e) when (e.InnerException is TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // SocketsHttpHandler's ConnectTimeout: no connection (or no TLS session) was made, so no byte of the request left.
            // As a connection failure it is retried and refunded like a refused connect (SendFailures.NothingSent).
            attempts?.Ended();
            throw new HttpRequestException(HttpRequestError.ConnectionError, "No connection to Telnyx within the connect timeout.", e);
        }

        try
        {
            await response.Content.LoadIntoBufferAsync(TelephonyServiceCollectionExtensions.MaxResponseBytes, cancellationToken);
            attempts?.Ended();
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            var contentType = response.Content.Headers.ContentType;
            response.Content.Dispose();
            response.Content = new ByteArrayContent([]);
            response.Content.Headers.ContentType = contentType;
            attempts?.Ended();
        }
        catch
        {
            response.Dispose(); // the attempt timed out (or was cancelled) while reading the body
            throw;
        }

        return response;
    }
}
