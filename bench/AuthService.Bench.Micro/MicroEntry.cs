using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace AuthService.Bench.Micro;

/// <summary>Runs <see cref="CoreBenchmarks"/> and writes mean time and allocation per operation as JSON for the
/// combined table of <c>make bench</c>.
/// Usage: <c>AuthService.Bench.Micro [--smoke] [--out micro.json]</c>.</summary>
public static class MicroEntry
{
    public static int Main(string[] args)
    {
        var smoke = args.Contains("--smoke");
        var outIndex = Array.IndexOf(args, "--out");
        var output = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : "micro.json";

        // In process: no per-run project generation and build, so the whole suite fits in `make bench`'s budget.
        // ShortRun (3 warm-ups, 3 iterations) is enough for ratios measured in the same process; Dry only proves it runs.
        var job = (smoke ? Job.Dry : Job.ShortRun).WithToolchain(InProcessEmitToolchain.Instance);
        var config = ManualConfig.CreateMinimumViable()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, "BenchmarkDotNet.Artifacts"));
        var summary = BenchmarkRunner.Run<CoreBenchmarks>(config);

        var results = summary.Reports.ToDictionary(
            r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name,
            r => new MicroResult(
                r.ResultStatistics?.Mean,
                r.ResultStatistics?.StandardDeviation,
                r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase)));
        File.WriteAllText(output, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        return results.Values.All(r => r.MeanNs is not null) && results.Count == 5 ? 0 : 1;
    }
}

public sealed record MicroResult(double? MeanNs, double? StdDevNs, long? AllocatedBytes);
