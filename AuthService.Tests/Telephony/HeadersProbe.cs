using AuthService.Api.Telephony;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.Telephony;

/// <summary>Completes <see cref="Arrived"/> when an answer's headers reach the Telnyx client, before HttpClient reads its body:
/// a handler inside the sender's pipeline (<see cref="AddTo"/> after <c>AddTelephony</c>), so a test knows the pipeline's
/// timeouts are behind it.</summary>
internal sealed class HeadersProbe
{
    private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Arrived => _arrived.Task;

    public void AddTo(IServiceCollection services) =>
        services.AddHttpClient(TelephonyServiceCollectionExtensions.TelnyxClientName).AddHttpMessageHandler(() => new Handler(_arrived));

    private sealed class Handler(TaskCompletionSource arrived) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            arrived.TrySetResult();
            return response;
        }
    }
}

/// <summary>Counts the attempts the Telnyx client starts: a handler inside the sender's pipeline (<see cref="AddTo"/> after
/// <c>AddTelephony</c>) sees each attempt as it begins, before its request is written, so a test that drives the pipeline's
/// clock can stop once a retry has started and leave that attempt's timeout alone.</summary>
internal sealed class AttemptProbe
{
    private int _started;

    public int Started => Volatile.Read(ref _started);

    public void AddTo(IServiceCollection services) =>
        services.AddHttpClient(TelephonyServiceCollectionExtensions.TelnyxClientName).AddHttpMessageHandler(() => new Handler(this));

    private sealed class Handler(AttemptProbe probe) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref probe._started);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
