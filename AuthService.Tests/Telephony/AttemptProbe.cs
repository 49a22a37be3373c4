using AuthService.Api.Telephony;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.Telephony;

/// <summary>Watches the Telnyx client's attempts from inside the sender's pipeline (<see cref="AddTo"/> after
/// <c>AddTelephony</c>): <see cref="Started"/> counts the attempts as they begin, before their requests are written, and
/// <see cref="HeadersArrived"/> completes when an answer's headers reach the client, before its body is read. So a test that
/// drives the pipeline's clock knows which of its timers are behind it, or stops before a new attempt's timeout.</summary>
internal sealed class AttemptProbe
{
    private readonly TaskCompletionSource _headersArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;

    public int Started => Volatile.Read(ref _started);

    public Task HeadersArrived => _headersArrived.Task;

    public void AddTo(IServiceCollection services) =>
        services.AddHttpClient(TelephonyServiceCollectionExtensions.TelnyxClientName).AddHttpMessageHandler(() => new Handler(this));

    private sealed class Handler(AttemptProbe probe) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref probe._started);
            var response = await base.SendAsync(request, cancellationToken);
            probe._headersArrived.TrySetResult();
            return response;
        }
    }
}
