namespace AuthService.Api.Telephony;

/// <summary>Bounds one whole exchange with Telnyx, its answer's body included, by <c>Telephony:Telnyx:Resilience:TotalTimeout</c>
/// on the pipeline's clock. The pipeline's timeouts end when the headers arrive, and HttpClient reads the body after them: an
/// answer that stalls there would otherwise hold the request, and whatever it holds (an idempotency claim, a reserved send),
/// until the client gave up. Its token is cancelled when the caller's is too.</summary>
public sealed class ExchangeDeadline : IDisposable
{
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenSource _linked;

    public ExchangeDeadline(TimeSpan limit, TimeProvider time, CancellationToken caller)
    {
        _deadline = new CancellationTokenSource(limit, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(caller, _deadline.Token);
    }

    public CancellationToken Token => _linked.Token;

    public void Dispose()
    {
        _linked.Dispose();
        _deadline.Dispose();
    }
}
