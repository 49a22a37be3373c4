using System.Net;
using System.Text;

namespace AuthService.Bench.Load;

/// <summary>A loopback stand-in for Telnyx's <c>POST /v2/messages</c> (HttpListener, no dependency): answers every
/// send like Telnyx does, so the challenge path is measured up to the provider and no further.</summary>
public sealed class TelnyxStandIn : IDisposable
{
    private static readonly byte[] Answer = Encoding.UTF8.GetBytes("""{"data":{"id":"msg-bench","record_type":"message"}}""");
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private long _received;

    public TelnyxStandIn(int port)
    {
        BaseUrl = $"http://127.0.0.1:{port}/v2";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        for (var i = 0; i < 8; i++)
        {
            _ = Task.Run(ServeAsync);
        }
    }

    public string BaseUrl { get; }

    public long Received => Interlocked.Read(ref _received);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref _received);
            using (var drain = new MemoryStream())
            {
                await context.Request.InputStream.CopyToAsync(drain);
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = Answer.Length;
            await context.Response.OutputStream.WriteAsync(Answer);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }
}
