using System.Globalization;

namespace AuthService.Bench.Load;

/// <summary>The tables of <c>make soak</c>: one row per window, then the checks of issue 27 with their rules. Unlike the
/// bench's targets these are asserted: the exit code is non-zero when a check fails.</summary>
public sealed class SoakReport(BenchOptions options, TimeSpan duration)
{
    /// <summary>p99 of the last window ÷ p99 of the first: "stable" means at most this.</summary>
    public const double P99Tolerance = 1.5;

    /// <summary>Median VmRSS of the last window vs the first: within ± this fraction.</summary>
    public const double RssTolerance = 0.10;

    public TimeSpan Duration => duration;
    public LoadResult? Saturation { get; set; }
    public double Rate { get; set; }
    public string Durability { get; set; } = "unknown";
    public string LoadAverageBefore { get; set; } = "n/a";
    public string LoadAverageAfter { get; set; } = "n/a";
    public GcCounters? StartGc { get; set; }
    public long StartRssBytes { get; set; }
    public long PeakRssBytes { get; set; }
    public string? TimelinePath { get; set; }
    public List<SoakWindow> Windows { get; } = [];

    private List<(string Check, string Value, string Rule, bool Pass)> Checks()
    {
        var checks = new List<(string, string, string, bool)>();
        if (Saturation is null || Windows.Count == 0)
        {
            checks.Add(("soak ran", Saturation is null ? "no saturation figure" : "no window", "every window measured", false));
            return checks;
        }

        var errors = Saturation.Errors + Windows.Sum(w => w.Load.Errors);
        // A saturation loop that ran out of users still measured a rate (over the time it ran); an open loop that did left
        // requests unsent, which the soak cannot allow.
        var exhausted = Windows.Any(w => w.Load.StoppedEarly);
        checks.Add(("errors (saturation + every window)", errors.ToString(CultureInfo.InvariantCulture) + (exhausted ? ", USER POOL EXHAUSTED" : ""),
            "0, no request left unsent (else raise --users)", errors == 0 && !exhausted));
        var (first, last) = (Windows[0], Windows[^1]);
        var p99Ratio = last.Load.Percentile(99) / first.Load.Percentile(99);
        checks.Add(("p99 last window ÷ first window", $"{last.Load.Percentile(99):F2} ms ÷ {first.Load.Percentile(99):F2} ms = {p99Ratio:F2}",
            $"≤ {P99Tolerance:F1}", p99Ratio <= P99Tolerance));
        var (rssFirst, rssLast) = (Median(first.RssBytes), Median(last.RssBytes));
        var rssChange = rssLast / rssFirst - 1;
        checks.Add(("VmRSS median, last window vs first", $"{Mb(rssLast)} vs {Mb(rssFirst)} ({rssChange:+0.0%;-0.0%})",
            $"within ±{RssTolerance:0%}", Math.Abs(rssChange) <= RssTolerance));
        checks.Add(("durable PostgreSQL (read from the server)", Durability, "fsync=on, synchronous_commit=on",
            Durability.Contains("fsync=on", StringComparison.Ordinal) && Durability.Contains("synchronous_commit=on", StringComparison.Ordinal)));
        return checks;
    }

    public bool Passed => Checks().All(c => c.Pass);

    public void Print()
    {
        var rss = Windows.SelectMany(w => w.RssBytes).ToList();
        var total = Windows.Count > 0 && StartGc is not null ? Windows[^1].Gc.Since(StartGc) : null;
        var lines = new List<string>
        {
            $"# AuthService soak — {duration.TotalMinutes:0.#} min of verify at half of saturation",
            "",
            $"{Environment.ProcessorCount} cores, {options.Users:N0} TOTP users; saturation: {(Saturation is null ? "not measured" : Report.Summary(Saturation))} " +
            $"({options.Workers} workers, {options.Duration.TotalSeconds:0.#} s after {options.Warmup.TotalSeconds:0.#} s warm-up); open loop at {Rate:F0} req/s " +
            $"(latency from the intended send time); PostgreSQL {Durability}; load average (1/5/15 min) {LoadAverageBefore} before, {LoadAverageAfter} after.",
            "",
            "| window | seconds | achieved req/s | requests | errors | p50 ms | p99 ms | p99.9 ms | VmRSS median MB | GC gen0/gen1/gen2 | GC pause ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        };
        var previous = StartGc;
        for (var i = 0; i < Windows.Count; i++)
        {
            var (load, samples, gc) = Windows[i];
            var delta = previous is null ? null : gc.Since(previous);
            previous = gc;
            lines.Add($"| {i + 1} | {load.Seconds:F0} | {load.Throughput:F0} | {load.Requests:N0} | {load.Errors} | {load.Percentile(50):F2} | " +
                      $"{load.Percentile(99):F2} | {load.Percentile(99.9):F2} | {Mb(Median(samples))} | {Gens(delta)} | {Pause(delta)} |");
        }

        lines.Add("");
        lines.Add($"VmRSS: {rss.Count} samples every {SoakRun.RssInterval.TotalSeconds:0} s; before the open loop {Mb(StartRssBytes)} MB, " +
                  $"min {(rss.Count > 0 ? Mb(rss.Min()) : "n/a")} MB, max {(rss.Count > 0 ? Mb(rss.Max()) : "n/a")} MB, peak (VmHWM, whole life) {Mb(PeakRssBytes)} MB. " +
                  $"GC over the soak: collections gen0/gen1/gen2 {Gens(total)}, pause {Pause(total)} ms" +
                  (total is { PauseSeconds: null } ? " (the service's /metrics exposes no GC pause time)" : "") + ".");
        if (TimelinePath is not null)
        {
            lines.Add("");
            lines.Add($"Every second of the open loop ({SoakTimeline.Describe}): `{TimelinePath}`.");
        }

        lines.Add("");
        lines.Add("| check | value | rule | result |");
        lines.Add("|---|---|---|---|");
        lines.AddRange(Checks().Select(c => $"| {c.Check} | {c.Value} | {c.Rule} | {(c.Pass ? "PASS" : "FAIL")} |"));
        var firstErrors = Windows.SelectMany(w => w.Load.ErrorSamples).Concat(Saturation?.ErrorSamples ?? []).FirstOrDefault();
        if (firstErrors is not null)
        {
            lines.Add("");
            lines.Add($"First error: {firstErrors.ReplaceLineEndings(" ")}");
        }

        Console.WriteLine();
        lines.ForEach(Console.WriteLine);
    }

    private static double Median(List<long> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2.0;
    }

    private static string Mb(double bytes) => (bytes / (1024 * 1024)).ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>Collections per generation, each counted once at the generation it collected (<c>GC.CollectionCount(n)</c>
    /// counts every collection of generation n or higher).</summary>
    private static string Gens(GcCounters? gc)
    {
        if (gc is null || gc.Collections.Count == 0)
        {
            return "n/a";
        }

        double Reached(int generation) => gc.Collections.GetValueOrDefault("gen" + generation.ToString(CultureInfo.InvariantCulture));
        return string.Join("/", Enumerable.Range(0, 3).Select(g => (Reached(g) - (g < 2 ? Reached(g + 1) : 0)).ToString("F0", CultureInfo.InvariantCulture)));
    }

    private static string Pause(GcCounters? gc) => gc?.PauseSeconds is { } s ? (s * 1000).ToString("F1", CultureInfo.InvariantCulture) : "n/a";
}
