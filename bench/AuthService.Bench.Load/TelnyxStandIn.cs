using System.Net;
using System.Text;

namespace AuthService.Bench.Load;

/// <summary>A loopback stand-in for Telnyx's <c>POST /v2/messages</c> (HttpListener, no dependency): answers every
/// send like Telnyx does, so the challenge path is measured up to the provider and no further. A number check
/// (<c>GET /v2/number_lookup/…</c>, once per number and day) is answered as a mobile line that was never ported, so the
/// challenge phase measures the check's first lookup and cache like production, and counts only the sends.</summary>
public sealed class TelnyxStandIn : IDisposable
{
    private static readonly byte[] Answer = Encoding.UTF8.GetBytes("""{"data":{"id":"msg-bench","record_type":"message"}}""");
    private static readonly byte[] Mobile = Encoding.UTF8.GetBytes("""
        {"data":{"record_type":"number_lookup","country_code":"US","carrier":{"type":"mobile","name":"Bench Wireless"},
        "portability":{"line_type":"mobile","ported_status":"N","ported_date":""}}}
        """);
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

            var lookup = context.Request.HttpMethod == "GET";
            if (!lookup)
            {
                Interlocked.Increment(ref _received);
            }

            using (var drain = new MemoryStream())
            {
                await context.Request.InputStream.CopyToAsync(drain);
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            var answer = lookup ? Mobile : Answer;
            context.Response.ContentLength64 = answer.Length;
            await context.Response.OutputStream.WriteAsync(answer);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }
}
