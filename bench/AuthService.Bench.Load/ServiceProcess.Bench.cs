namespace AuthService.Tests.Infrastructure;

/// <summary>The bench's and the failover test's part of the tests' process runner (AuthService.Tests/Infrastructure/
/// ServiceProcess.cs, linked): a name for messages, the pid in the calling script's pid file so its trap can end the
/// child even if this client dies, every live child ended when this process exits, and CPU and memory from /proc.</summary>
public sealed partial class ServiceProcess : IDisposable
{
    private static readonly List<ServiceProcess> Live = [];

    static ServiceProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    public string Name { get; private set; } = "service";

    /// <summary>The last lines it printed, for a failure message.</summary>
    public string Tail => Output is { Length: > 8000 } output ? output[^8000..] : Output;

    /// <summary><c>dotnet <paramref name="dll"/></c> (the service or the ceiling app) with only the environment given here.</summary>
    public static ServiceProcess Start(string name, string dll, Uri baseAddress, IReadOnlyDictionary<string, string> environment, string? pidFile)
    {
        var child = Start(dll, baseAddress, environment.Select(e => KeyValuePair.Create(e.Key, (string?)e.Value)));
        child.Name = name;
        lock (Live)
        {
            Live.Add(child);
        }

        if (pidFile is not null)
        {
            File.AppendAllText(pidFile, child.Pid + Environment.NewLine);
        }

        return child;
    }

    /// <summary>Waits for <c>/health/ready</c> (polled every 10 ms: cold starts are measured with it); throws with the
    /// process's last output when it exits or does not get ready in time.</summary>
    public async Task ReadyOrThrowAsync(TimeSpan timeout)
    {
        if (!await WaitReadyAsync(timeout, TimeSpan.FromMilliseconds(10)))
        {
            throw HasExited
                ? new InvalidOperationException($"{Name} exited before it was ready:\n{Tail}")
                : new TimeoutException($"{Name} not ready within {timeout.TotalSeconds} s:\n{Tail}");
        }
    }

    /// <summary>VmRSS and VmHWM (peak) of the process in bytes, from /proc.</summary>
    public (long Rss, long Peak) Memory()
    {
        long rss = 0, peak = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line) * 1024;
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = Kilobytes(line) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return (rss, peak);

        static long Kilobytes(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    /// <summary>User + system CPU time consumed so far, from /proc/&lt;pid&gt;/stat (clock ticks of 10 ms).</summary>
    public TimeSpan CpuTime()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return TimeSpan.FromMilliseconds((long.Parse(fields[11]) + long.Parse(fields[12])) * 10);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        lock (Live)
        {
            Live.Remove(this);
        }

        _process.Dispose();
    }

    // The bench measures raw throughput: no contract checking on its probes.
    private static partial HttpMessageHandler NewHandler() => new HttpClientHandler();

    private static void KillAll()
    {
        List<ServiceProcess> children;
        lock (Live)
        {
            children = [.. Live];
        }

        foreach (var child in children)
        {
            child.Dispose();
        }
    }
}
