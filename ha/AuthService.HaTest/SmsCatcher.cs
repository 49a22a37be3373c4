using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AuthService.HaTest;

/// <summary>A loopback stand-in for Telnyx's <c>POST /v2/messages</c> that keeps the last code sent to each number,
/// so the driver can log phone users in as a phone would. Every answer closes its connection (<c>Connection: close</c>):
/// HttpListener resets a kept-alive connection after 15 s idle, and when that reset met the service reusing the
/// connection, the write failed with a broken pipe after the request had started, which the service rightly reports as
/// 502 <c>telephony_outcome_unknown</c> (issue 21, run c-02). Every request is answered on its own task, and nothing a
/// request does can end the accept loop.</summary>
public sealed partial class SmsCatcher : IDisposable
{
    private static readonly byte[] Answer = """{"data":{"id":"msg-ha","record_type":"message"}}"""u8.ToArray();
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, string> _codes = new();
    private volatile bool _stopped;

    public SmsCatcher(int port)
    {
        BaseUrl = $"http://127.0.0.1:{port}/v2";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    public string BaseUrl { get; }

    public bool TryTake(string number, out string code) => _codes.TryRemove(number, out code!);

    private async Task AcceptAsync()
    {
        while (!_stopped)
        {
            try
            {
                var context = await _listener.GetContextAsync();
                _ = Task.Run(() => AnswerAsync(context));
            }
            catch (Exception) when (!_stopped)
            {
                await Task.Delay(10); // one broken connection; keep accepting
            }
            catch (Exception)
            {
                return;
            }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            try
            {
                using var body = await JsonDocument.ParseAsync(context.Request.InputStream);
                var to = body.RootElement.GetProperty("to").GetString()!;
                var match = CodeIn().Match(body.RootElement.GetProperty("text").GetString() ?? "");
                if (match.Success)
                {
                    _codes[to] = match.Groups[1].Value;
                }

                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                context.Response.KeepAlive = false;
                await context.Response.OutputStream.WriteAsync(Answer);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                context.Response.StatusCode = 400;
            }

            context.Response.Close();
        }
        catch (Exception)
        {
            context.Response.Abort(); // the service gave up on this connection
        }
    }

    [GeneratedRegex(@"\b(\d{6})\b")]
    private static partial Regex CodeIn();

    public void Dispose()
    {
        _stopped = true;
        _listener.Close();
    }
}
