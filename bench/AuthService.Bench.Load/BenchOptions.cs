using System.Globalization;

namespace AuthService.Bench.Load;

public sealed record BenchOptions(
    string PgConnectionString,
    string ServiceDll,
    string CeilingDll,
    int Users,
    int Workers,
    int Rounds,
    TimeSpan Warmup,
    TimeSpan Duration,
    TimeSpan HalfDuration,
    TimeSpan HalfWarmup,
    int ColdStarts,
    int BackupCodesPerUser,
    string? MicroJson,
    string? PidFile,
    bool Smoke,
    string Durability,
    string? PgBouncerConnectionString = null,
    string? BaselineDll = null,
    double? SoakMinutes = null)
{
    public static BenchOptions Parse(string[] args)
    {
        string? Get(string name)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        double Number(string name, double fallback) =>
            Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

        return new BenchOptions(
            Get("pg") ?? throw new ArgumentException("--pg <connection string of the throwaway cluster> is required"),
            Get("service-dll") ?? throw new ArgumentException("--service-dll is required"),
            Get("ceiling-dll") ?? throw new ArgumentException("--ceiling-dll is required"),
            (int)Number("users", 200_000), // verify now runs ~3k req/s: 50k users ran out within one 30-s step
            (int)Number("workers", 32) is var workers and > 0 and <= BenchServices.MaxConnections
                ? workers
                : throw new ArgumentException($"--workers must be 1 to {BenchServices.MaxConnections} (one connection each)"),
            Math.Max(1, (int)Number("rounds", 3)),
            TimeSpan.FromSeconds(Number("warmup", 15)), // the first round of a phase; later rounds warm up 1 s. 5 s left verify ~30 % below its steady state
            TimeSpan.FromSeconds(Number("duration", 15)),
            TimeSpan.FromSeconds(Number("half-duration", 10)),
            // The open loop first runs this long at the same rate, reported apart: it starts right after a checkpoint on a service
            // that idled through the other phases, and its first second (a 45 ms GC pause, a queue of work items) was the tail of a
            // 10-s run (docs/SCALING.md, "The open loop's first second").
            TimeSpan.FromSeconds(Number("half-warmup", 10)),
            (int)Number("cold-starts", 3),
            (int)Number("backup-codes", 10),
            Get("micro"),
            Get("pid-file"),
            args.Contains("--smoke"),
            Get("durability") ?? "durable",
            Get("pgbouncer"), // PgBouncer (transaction pooling) in front of --pg: adds a verify phase through it
            Get("baseline-dll"), // another build of the service: adds a verify phase on its own database (same-run A/B)
            Get("soak-minutes") is { } soak ? double.Parse(soak, CultureInfo.InvariantCulture) : null); // `make soak` (SoakRun.cs)
    }
}
