using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AuthService.Tests.Telephony;

/// <summary>
/// A bare loopback HTTP/1.1 server that reads each request and then resets the connection (TCP RST,
/// no status line), for the first <c>resetFirst</c> requests; later ones get a 200 with <c>okBody</c>.
/// WireMock's faults still send a status line, which is an answer rather than a connection failure.
/// Started with <c>listening: false</c> it holds its port without listening, so connections are refused (a TCP reset
/// answering the connect: nothing can have been sent) until <see cref="Listen"/>.
/// With <c>stallAfterHeaders</c> the 200 sends its headers and half its body, then nothing more until disposed.
/// </summary>
internal sealed class ResettingServer : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<string> _bodies = new();
    private readonly int _resetFirst;
    private readonly string _okBody;
    private readonly bool _stallAfterHeaders;
    private int _seen;

    public ResettingServer(int resetFirst, string okBody, bool listening = true, bool stallAfterHeaders = false)
    {
        _resetFirst = resetFirst;
        _okBody = okBody;
        _stallAfterHeaders = stallAfterHeaders;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (listening)
        {
            Listen();
        }
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";

    /// <summary>Request lines in arrival order.</summary>
    public IReadOnlyList<string> Requests => _requests.ToList();

    /// <summary>Request bodies in arrival order (what the provider "recorded" before resetting).</summary>
    public IReadOnlyList<string> Bodies => _bodies.ToList();

    /// <summary>Starts accepting connections (until now they were refused).</summary>
    public void Listen()
    {
        _listener.Listen(16);
        _ = AcceptLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = HandleAsync(socket);
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                var requestLine = await ReadRequestAsync(socket);
                if (requestLine is null)
                    return;
                _requests.Enqueue(requestLine);
                if (Interlocked.Increment(ref _seen) <= _resetFirst)
                {
                    socket.LingerState = new LingerOption(true, 0); // close → RST
                    return;
                }

                var body = Encoding.UTF8.GetBytes(_okBody);
                var head = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                if (_stallAfterHeaders)
                {
                    await socket.SendAsync(head.Concat(body.Take(body.Length / 2)).ToArray());
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                }

                await socket.SendAsync(head.Concat(body).ToArray());
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException || _stop.IsCancellationRequested)
            {
            }
        }
    }

    private async Task<string?> ReadRequestAsync(Socket socket)
    {
        var buffer = new List<byte>();
        var chunk = new byte[4096];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
        {
            var read = await socket.ReceiveAsync(chunk, _stop.Token);
            if (read == 0)
                return null;
            buffer.AddRange(chunk.AsSpan(0, read).ToArray());
        }

        var head = Encoding.ASCII.GetString(buffer.ToArray(), 0, headerEnd);
        var lengthLine = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        var length = lengthLine is null ? 0 : int.Parse(lengthLine["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        // HttpClient sends JsonContent chunked: then the body ends with the zero-length chunk.
        var chunked = head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase);
        while (chunked ? IndexOf(buffer, "\r\n0\r\n\r\n"u8) < 0 : buffer.Count - headerEnd - 4 < length)
        {
            var read = await socket.ReceiveAsync(chunk, _stop.Token);
            if (read == 0)
                break;
            buffer.AddRange(chunk.AsSpan(0, read).ToArray());
        }

        var body = Encoding.UTF8.GetString(buffer.ToArray(), headerEnd + 4, buffer.Count - headerEnd - 4);
        _bodies.Enqueue(chunked ? Dechunk(body) : body);
        return head.Split("\r\n")[0];
    }

    private static string Dechunk(string body)
    {
        var text = new StringBuilder();
        var at = 0;
        while (true)
        {
            var lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(body[at..lineEnd], 16);
            if (size == 0)
                return text.ToString();
            text.Append(body, lineEnd + 2, size); // ASCII JSON: characters are bytes
            at = lineEnd + 2 + size + 2;
        }
    }

    private static int IndexOf(List<byte> buffer, ReadOnlySpan<byte> pattern) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer).IndexOf(pattern);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _stop.Dispose();
    }
}
