using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AuthService.Tests.Infrastructure;

/// <summary>A real AuthService process (the built <c>AuthService.Api.dll</c>, or any <c>dotnet app.dll</c>) configured only
/// through environment variables, as an operator would run it. Output is captured for assertions on logs.
/// This file is shared: the tests add the contract-checked clients and their own build (ServiceProcess.Testing.cs); the
/// bench and the failover test link it and add CPU, memory and a pid file (bench/AuthService.Bench.Load/ServiceProcess.Bench.cs).</summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Pid => _process.Id;

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>Starts <c>dotnet <paramref name="dll"/></c> in the dll's folder, serving <paramref name="baseAddress"/>,
    /// with the given environment on top of this process's minus every setting (ASP.NET Core, <c>DOTNET_ENVIRONMENT</c>,
    /// anything with <c>__</c>).</summary>
    public static ServiceProcess Start(string dll, Uri baseAddress, IEnumerable<KeyValuePair<string, string?>> environment, string[]? args = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(dll))!,
        };
        start.ArgumentList.Add(Path.GetFullPath(dll));
        foreach (var arg in args ?? [])
        {
            start.ArgumentList.Add(arg);
        }

        // Only what the caller passes: nothing leaks in from the test runner's environment.
        foreach (var key in start.Environment.Keys.Where(k =>
                     k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal) ||
                     k.Contains("__", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["ASPNETCORE_URLS"] = baseAddress.ToString();
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return new ServiceProcess(Process.Start(start)!, baseAddress);
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200 (asked every <paramref name="poll"/>, default 100 ms), or the
    /// process exits.</summary>
    public async Task<bool> WaitReadyAsync(TimeSpan timeout, TimeSpan? poll = null)
    {
        using var client = new HttpClient(NewHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                if ((await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(100));
        }

        return false;
    }

    /// <summary>The first line of the output that <paramref name="match"/> accepts, once the process has written it (the output
    /// is read asynchronously, so a line logged before an answer may arrive after it); null if none came within
    /// <paramref name="timeout"/>.</summary>
    public async Task<string?> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var line = Output.Split('\n').FirstOrDefault(match);
            if (line is not null || DateTime.UtcNow >= deadline || _process.HasExited)
            {
                return line;
            }

            await Task.Delay(50);
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // flush the redirected output
        return _process.ExitCode;
    }

    public HttpClient Client(string? apiKey = null)
    {
        var client = new HttpClient(NewHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>The handler of <see cref="Client"/> and of the readiness probe, supplied by the project that includes this
    /// file (the tests check every answer against openapi.yaml).</summary>
    private static partial HttpMessageHandler NewHandler();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static int _portOffset = -1;

    /// <summary>A loopback port free now, for a server that binds it a moment later. It is taken outside the kernel's
    /// ephemeral range (<c>/proc/sys/net/ipv4/ip_local_port_range</c>) when there is room: a port the kernel handed out
    /// and took back (binding port 0) can be handed to any client's next connection before the server binds it, and the
    /// server then fails to start. Ports outside that range are only ever bound by name. Each call moves on to the next
    /// port, so two servers started together never get the same one.</summary>
    public static int FreePort()
    {
        var (first, last) = PortsOutsideEphemeralRange();
        var count = last - first + 1;
        Interlocked.CompareExchange(ref _portOffset, Random.Shared.Next(count), -1); // each process starts somewhere else
        for (var tries = 0; first > 0 && tries < count; tries++)
        {
            var port = first + (int)((uint)Interlocked.Increment(ref _portOffset) % (uint)count);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // bound by someone else: the next one
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The ports above the ephemeral range, or below it down to 30000 when it reaches the top; (0, 0) when neither
    /// holds 1,000 ports or the range cannot be read (then <see cref="FreePort"/> lets the kernel choose).</summary>
    private static (int First, int Last) PortsOutsideEphemeralRange()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            var (low, high) = (int.Parse(range[0]), int.Parse(range[1]));
            return 65535 - high >= 1000 ? (high + 1, 65535) : low - 30000 >= 1000 ? (30000, low - 1) : (0, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return (0, 0);
        }
    }
}
