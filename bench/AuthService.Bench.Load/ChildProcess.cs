using System.Diagnostics;
using System.Text;

namespace AuthService.Bench.Load;

/// <summary>A `dotnet app.dll` child (the service or the ceiling app) with only the environment given here.
/// Its pid goes to the pid file so the calling script's trap can end it even if this client dies.</summary>
public sealed class ChildProcess : IDisposable
{
    private static readonly List<ChildProcess> Live = [];
    private readonly Process _process;
    private readonly StringBuilder _tail = new();

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines it printed, for a failure message.</summary>
    public string Tail
    {
        get
        {
            lock (_tail)
            {
                return _tail.ToString();
            }
        }
    }

    public static ChildProcess Start(string name, string dll, IReadOnlyDictionary<string, string> environment, string? pidFile)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(dll))!,
        };
        start.ArgumentList.Add(Path.GetFullPath(dll));
        foreach (var key in start.Environment.Keys.Where(k =>
                     k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal) ||
                     k.Contains("__", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var child = new ChildProcess(Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start."), name);
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

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _tail.AppendLine(line);
            if (_tail.Length > 8000)
            {
                _tail.Remove(0, _tail.Length - 8000);
            }
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

    private static void KillAll()
    {
        List<ChildProcess> children;
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
