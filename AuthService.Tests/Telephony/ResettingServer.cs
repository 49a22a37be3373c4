using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AuthService.Tests.Telephony;

/// <summary>
/// A bare loopback HTTP/1.1 server that reads each request and then resets the connection (TCP RST,
/// no status line), for the first <c>resetFirst</c> requests; later ones get a 200 with <c>okBody</c>.
/// WireMock's faults still send a status line, which is an answer rather than a connection failure.
/// </summary>
internal sealed class ResettingServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly int _resetFirst;
    private readonly string _okBody;
    private int _seen;

    public ResettingServer(int resetFirst, string okBody)
    {
        _resetFirst = resetFirst;
        _okBody = okBody;
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Request lines in arrival order.</summary>
    public IReadOnlyList<string> Requests => _requests.ToList();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
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
                await socket.SendAsync(head.Concat(body).ToArray());
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
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
        while (buffer.Count - headerEnd - 4 < length)
        {
            var read = await socket.ReceiveAsync(chunk, _stop.Token);
            if (read == 0)
                break;
            buffer.AddRange(chunk.AsSpan(0, read).ToArray());
        }

        return head.Split("\r\n")[0];
    }

    private static int IndexOf(List<byte> buffer, ReadOnlySpan<byte> pattern) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer).IndexOf(pattern);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
