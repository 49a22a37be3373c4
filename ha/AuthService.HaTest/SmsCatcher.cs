using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AuthService.HaTest;

/// <summary>A loopback stand-in for Telnyx's <c>POST /v2/messages</c> that keeps the last code sent to each number,
/// so the driver can log phone users in as a phone would.</summary>
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
        for (var i = 0; i < 4; i++)
        {
            _ = Task.Run(ServeAsync);
        }
    }

    public string BaseUrl { get; }

    public bool TryTake(string number, out string code) => _codes.TryRemove(number, out code!);

    private async Task ServeAsync()
    {
        while (!_stopped)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stopped)
            {
                return;
            }

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
                await context.Response.OutputStream.WriteAsync(Answer);
            }
            catch (Exception)
            {
                context.Response.StatusCode = 400;
            }

            context.Response.Close();
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
