using AuthService.Tests.Infrastructure;
using Npgsql;
using static AuthService.Bench.Load.BenchServices;

namespace AuthService.Bench.Load;

/// <summary><c>make soak</c> (issue 27): the bench's seeding, service and drivers, run for long. A short closed loop finds
/// verify's saturation, then the open loop runs at half of it for the whole soak in consecutive windows (5 minutes each,
/// or a quarter of a shorter run), with the service's VmRSS sampled every 10 s and its GC counters scraped from
/// <c>/metrics</c> at each window's edges. The report (SoakReport.cs) goes to stdout; run.sh keeps it in .data/soak.</summary>
public static class SoakRun
{
    public static readonly TimeSpan RssInterval = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(BenchOptions o, SoakReport report)
    {
        report.LoadAverageBefore = LoadAverage();
        using var telnyx = new TelnyxStandIn(ServiceProcess.FreePort());
        var (box, adminKey, serviceEnv) = LoadEntry.ServiceSetup(telnyx);
        var db = await BenchDatabase.PrepareAsync(o, "authsoak", o.ServiceDll, serviceEnv, box, adminKey);
        report.Durability = await DurabilityAsync(db.ConnectionString);
        using var service = await StartServiceAsync("service", o, o.ServiceDll, db.ServiceEnvironment(serviceEnv), db.VerifyKey);
        var driver = new LoadDriver(service.Client);
        var verify = db.Verifications();
        string[] databases = [db.ConnectionString];

        await SettleAsync(databases);
        Log($"soak: saturation, closed loop, {o.Workers} workers, {o.Warmup.TotalSeconds:0.#} s warm-up + {o.Duration.TotalSeconds:0.#} s");
        report.Saturation = await driver.ClosedLoopAsync("verify", verify, o.Workers, o.Warmup, o.Duration);
        var rate = Math.Max(1, report.Saturation.Throughput / 2);

        await SettleAsync(databases);
        var windows = report.Duration >= TimeSpan.FromMinutes(20) ? (int)Math.Ceiling(report.Duration.TotalMinutes / 5) : 4;
        var windowLength = report.Duration / windows;
        report.Rate = rate;
        report.StartGc = await GcCounters.ScrapeAsync(service.Client);
        report.StartRssBytes = service.Process.Memory().Rss;
        using var timelineStop = new CancellationTokenSource();
        var timeline = SoakTimeline.RunAsync(Environment.GetEnvironmentVariable("SOAK_TIMELINE") ?? "soak-timeline.tsv", service,
            db.ConnectionString, timelineStop.Token);
        for (var w = 0; w < windows; w++)
        {
            Log($"soak: window {w + 1}/{windows}: open loop at {rate:F0} req/s for {windowLength.TotalSeconds:0} s");
            var run = driver.OpenLoopAsync($"window {w + 1}", verify, rate, windowLength);
            var rss = new List<long>();
            while (!run.IsCompleted)
            {
                await Task.WhenAny(run, Task.Delay(RssInterval));
                if (!run.IsCompleted)
                {
                    rss.Add(service.Process.Memory().Rss);
                }
            }

            rss.Add(service.Process.Memory().Rss);
            report.Windows.Add(new SoakWindow(await run, rss, await GcCounters.ScrapeAsync(service.Client)));
            if (service.Process.HasExited)
            {
                throw new InvalidOperationException($"the service exited during window {w + 1}:\n{service.Process.Tail}");
            }
        }

        await timelineStop.CancelAsync();
        report.TimelinePath = await timeline;
        report.PeakRssBytes = service.Process.Memory().Peak;
        report.LoadAverageAfter = LoadAverage();
    }

    /// <summary>What the cluster really runs with, read from the server rather than assumed from the script: durability,
    /// and the sizes that decide how often it checkpoints and how much of the tables it keeps in memory.</summary>
    internal static async Task<string> DurabilityAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var settings = new List<string>();
        foreach (var name in new[] { "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_wal_size", "checkpoint_timeout" })
        {
            await using var command = new NpgsqlCommand($"show {name}", connection);
            settings.Add($"{name}={await command.ExecuteScalarAsync()}");
        }

        return string.Join(", ", settings);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

/// <summary>One window of the soak: the open loop's result, the service's VmRSS samples in it, and the GC counters at
/// its end.</summary>
public sealed record SoakWindow(LoadResult Load, List<long> RssBytes, GcCounters Gc);

/// <summary>The service's GC figures from its <c>/metrics</c> (prometheus-net): collections per generation
/// (<c>dotnet_collection_count_total</c>, i.e. <c>GC.CollectionCount</c>: a gen2 collection counts in gen0 and gen1 too)
/// and the total GC pause time (null when the scrape has none).</summary>
public sealed record GcCounters(IReadOnlyDictionary<string, double> Collections, double? PauseSeconds)
{
    /// <summary>The runtime meter's <c>dotnet.gc.pause.time</c> (seconds since start), as prometheus-net's meter adapter names it.</summary>
    public const string PauseName = "system_runtime_dotnet_gc_pause_time";

    public static async Task<GcCounters> ScrapeAsync(HttpClient client)
    {
        var text = await client.GetStringAsync("/metrics");
        var collections = new SortedDictionary<string, double>(StringComparer.Ordinal);
        double? pause = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || line.LastIndexOf(' ') is var space && space < 0)
            {
                continue;
            }

            var name = line[..space];
            if (!double.TryParse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            const string generation = "dotnet_collection_count_total{generation=\"";
            if (name.StartsWith(generation, StringComparison.Ordinal))
            {
                collections["gen" + name[generation.Length..].TrimEnd('"', '}')] = value;
            }
            else if (name == PauseName)
            {
                pause = value;
            }
        }

        return new GcCounters(collections, pause);
    }

    /// <summary>What happened between <paramref name="before"/> and this.</summary>
    public GcCounters Since(GcCounters before) => new(
        Collections.ToDictionary(c => c.Key, c => c.Value - before.Collections.GetValueOrDefault(c.Key)),
        PauseSeconds - before.PauseSeconds);
}
