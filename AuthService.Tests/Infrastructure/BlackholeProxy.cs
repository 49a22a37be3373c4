using System.Net;
using System.Net.Sockets;

namespace AuthService.Tests.Infrastructure;

/// <summary>A TCP relay on loopback in front of PostgreSQL that can stop relaying without closing anything: a network that
/// drops packets, or a server stalled on its disk, as the service sees them. Its connections stay open; bytes read while it
/// is <see cref="Blackhole">blackholed</see> are held until it <see cref="Restore">restores</see>. <see cref="HoldReplies"/> holds
/// only the server's side: requests reach PostgreSQL, which runs them, and their answers are slow to come back.</summary>
public sealed class BlackholeProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _sockets = [];
    private readonly Task _accepting;
    private TaskCompletionSource _open = Open();
    private volatile bool _requestsPass;
    private int _heldConnections;
    private readonly TaskCompletionSource[] _held = [Pending(), Pending()];

    public BlackholeProxy(string targetHost, int targetPort)
    {
        (_targetHost, _targetPort) = (targetHost, targetPort);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>From now on nothing goes through in either direction.</summary>
    public void Blackhole()
    {
        _requestsPass = false;
        Interlocked.Exchange(ref _open, Pending());
    }

    /// <summary>From now on requests go through and the server's replies are held.</summary>
    public void HoldReplies()
    {
        _requestsPass = true;
        Interlocked.Exchange(ref _open, Pending());
    }

    /// <summary>Completes once replies are held on <paramref name="connections"/> (1 or 2) connections.</summary>
    public Task HeldOn(int connections) => _held[connections - 1].Task;

    private static TaskCompletionSource Pending() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What was held goes through, and everything after it.</summary>
    public void Restore() => Interlocked.Exchange(ref _open, Open()).TrySetResult();

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            var server = new TcpClient();
            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    await server.ConnectAsync(_targetHost, _targetPort, _stop.Token);
                    await Task.WhenAny(PumpAsync(client.GetStream(), server.GetStream(), replies: false),
                        PumpAsync(server.GetStream(), client.GetStream(), replies: true));
                }
                catch (Exception)
                {
                    // a side closed, or the proxy stopped
                }
                finally
                {
                    client.Dispose();
                    server.Dispose();
                }
            });
        }
    }

    private async Task PumpAsync(Stream from, Stream to, bool replies)
    {
        var buffer = new byte[16 * 1024];
        var counted = false;
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            var open = Volatile.Read(ref _open).Task;
            if (replies || !_requestsPass)
            {
                if (replies && !open.IsCompleted && !counted)
                {
                    counted = true;
                    var held = Interlocked.Increment(ref _heldConnections);
                    if (held <= _held.Length)
                    {
                        _held[held - 1].TrySetResult();
                    }
                }

                await open.WaitAsync(_stop.Token);
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        await _accepting;
        _stop.Dispose();
    }
}
