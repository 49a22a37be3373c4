using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using AuthService.Core.Security;
using AuthService.Tests.Infrastructure;
using Npgsql;
using static AuthService.Bench.Load.BenchServices;

namespace AuthService.Bench.Load;

/// <summary>The load half of <c>make bench</c>: seeds a throwaway database, starts the real service and the ceiling app,
/// drives them from one client, and prints the one table (with the micro results read from JSON).</summary>
public static class LoadEntry
{
    public static async Task<int> Main(string[] args)
    {
        var o = BenchOptions.Parse(args);
        if (o.SoakMinutes is { } minutes)
        {
            var soak = new SoakReport(o, TimeSpan.FromMinutes(minutes));
            return await PrintedAsync("soak", () => SoakRun.RunAsync(o, soak), soak.Print, () => soak.Passed);
        }

        var report = new Report(o) { ServerDurability = await SoakRun.DurabilityAsync(o.PgConnectionString) };
        return await PrintedAsync("bench", () => RunAsync(o, report), report.Print, () => report.PipelineOk);
    }

    /// <summary>Runs, prints the report also when the run failed part-way (what was measured stays visible), and gives the
    /// exit code: 0 only when the run completed and <paramref name="passed"/>.</summary>
    private static async Task<int> PrintedAsync(string what, Func<Task> run, Action print, Func<bool> passed)
    {
        try
        {
            await run();
            print();
            return passed() ? 0 : 1;
        }
        catch (Exception e)
        {
            print();
            Console.Error.WriteLine($"{what}: FAILED: {e.Message}");
            return 1;
        }
    }

    private static async Task RunAsync(BenchOptions o, Report report)
    {
        using var telnyx = new TelnyxStandIn(ServiceProcess.FreePort());
        var (box, adminKey, serviceEnv) = ServiceSetup(telnyx);

        // 1. Each build migrates its own empty database on its first start; seed behind it. The baseline build
        //    (--baseline-dll) gets its own database in the same cluster: an older build may refuse a newer schema.
        var db = await BenchDatabase.PrepareAsync(o, "authbench", o.ServiceDll, serviceEnv, box, adminKey);
        var baselineDb = o.BaselineDll is { } baselineDll
            ? await BenchDatabase.PrepareAsync(o, "authbench_base", baselineDll, serviceEnv, box, adminKey)
            : null;

        // 2. Cold starts on the migrated database: process start → /health/ready 200. The last one serves the load.
        var serviceUri = new Uri($"http://127.0.0.1:{ServiceProcess.FreePort()}");
        var coldStarts = new List<double>();
        ServiceProcess? service = null;
        try
        {
            for (var i = 0; i < o.ColdStarts; i++)
            {
                service?.Dispose();
                var watch = Stopwatch.StartNew();
                service = ServiceProcess.Start("service", o.ServiceDll, serviceUri, WithCurrentSideEnvironment(db.ServiceEnvironment(serviceEnv)), o.PidFile);
                await service.ReadyOrThrowAsync(TimeSpan.FromSeconds(60));
                coldStarts.Add(watch.Elapsed.TotalSeconds);
            }

            report.ColdStartsSeconds = coldStarts;
            await ScrapeMetricsAsync(serviceUri);
            using var client = NewClient(serviceUri, db.VerifyKey);
            var driver = new LoadDriver(client);

            // 3. Saturation of verify and of the two ceilings (and of the optional second services), interleaved in rounds
            //    so that drift of this shared machine hits all alike; the order rotates by one phase each round, and each
            //    phase starts from vacuumed databases and a checkpoint. Services idle until their turn.
            using var ceiling = StartCeiling("ceiling", o, db.ConnectionString);
            using var tuned = StartCeiling("ceiling-tuned", o, AuthService.Api.Hosting.ServiceRegistration.TunedConnectionString(db.ConnectionString));
            await Task.WhenAll(ceiling.Process.ReadyOrThrowAsync(TimeSpan.FromSeconds(60)), tuned.Process.ReadyOrThrowAsync(TimeSpan.FromSeconds(60)));
            var ceilingPool = new UserPool(o.Users);
            RequestFactory check = () => Post($"/users/{db.UserIds[ceilingPool.Next()]}/check", "{\"code\":\"123456\"}");
            RequestFactory echo = () => Post($"/users/{db.UserIds[ceilingPool.Next()]}/echo", "{\"code\":\"123456\"}");
            var phases = new List<Phase>
            {
                new("ceiling", ceiling.Process, new LoadDriver(ceiling.Client), check, db.ConnectionString),
                new("verify", service!, driver, db.Verifications(), db.ConnectionString),
                new("ceiling-tuned", tuned.Process, new LoadDriver(tuned.Client), check, db.ConnectionString),
                // The floor: the tuned ceiling's process answering the same POST without the database.
                new("floor", tuned.Process, new LoadDriver(tuned.Client), echo, db.ConnectionString),
            };

            // A second service on the same database through PgBouncer, in the same rounds and on the same user pool.
            using var bounced = o.PgBouncerConnectionString is { } pgbouncer
                ? await StartServiceAsync("service-pgbouncer", o, o.ServiceDll, db.ServiceEnvironment(serviceEnv,
                    new NpgsqlConnectionStringBuilder(pgbouncer) { Database = db.Name }.ConnectionString, pgbouncer: true), db.VerifyKey)
                : null;
            if (bounced is not null)
            {
                phases.Add(new Phase("verify-pgbouncer", bounced.Process, new LoadDriver(bounced.Client), phases[1].Next, db.ConnectionString));
            }

            // The baseline build on its own database and users, same workers and request mix.
            using var baseline = baselineDb is not null
                ? await StartServiceAsync("service-baseline", o, o.BaselineDll!, baselineDb.ServiceEnvironment(serviceEnv), baselineDb.VerifyKey)
                : null;
            if (baseline is not null)
            {
                phases.Add(new Phase("verify-baseline", baseline.Process, new LoadDriver(baseline.Client), baselineDb!.Verifications(),
                    baselineDb.ConnectionString));
            }

            string[] databases = baselineDb is null ? [db.ConnectionString] : [db.ConnectionString, baselineDb.ConnectionString];
            var postgres = await PostgresCpu.FindAsync(db.ConnectionString);
            using var rss = new RssSampler(service!);
            var roundLength = o.Duration / o.Rounds;
            for (var round = 0; round < o.Rounds; round++)
            {
                for (var i = 0; i < phases.Count; i++)
                {
                    var phase = phases[(i + round) % phases.Count];
                    await SettleAsync(databases);
                    var warmup = round == 0 ? o.Warmup : TimeSpan.FromSeconds(Math.Min(1, o.Warmup.TotalSeconds));
                    Log($"round {round + 1}/{o.Rounds}: {phase.Name}, {o.Workers} workers, {warmup.TotalSeconds:0.#} s warm-up + {roundLength.TotalSeconds:0.#} s");
                    phase.Rounds.Add(await phase.Profiled(postgres,
                        () => phase.Driver.ClosedLoopAsync(phase.Name, phase.Next, o.Workers, warmup, roundLength)));
                }
            }

            report.Ceiling = phases[0].Measured;
            report.Verify = phases[1].Measured;
            report.TunedCeiling = phases[2].Measured;
            report.Floor = phases[3].Measured;
            report.VerifyPgBouncer = phases.Find(p => p.Name == "verify-pgbouncer")?.Measured;
            report.VerifyBaseline = phases.Find(p => p.Name == "verify-baseline")?.Measured;

            // 4. Half of the verify saturation at a fixed rate, with the service's RSS sampled throughout.
            var halfRate = Math.Max(1, report.Verify.Result.Throughput / 2);
            await SettleAsync(databases);
            Log($"verify: open loop at {halfRate:F0} req/s for {o.HalfWarmup.TotalSeconds:0.#} s of warm-up, then {o.HalfDuration.TotalSeconds:0.#} s measured");
            // BENCH_OPEN_LOOP_LOG=<folder>: every request's latency by its send time (latencies.tsv) and the service's and the
            // database's second-by-second state (timeline.tsv, as the soak's), to read where the tail comes from.
            var openLoopLog = Environment.GetEnvironmentVariable("BENCH_OPEN_LOOP_LOG");
            using var timelineStop = new CancellationTokenSource();
            var timeline = openLoopLog is null
                ? null
                : SoakTimeline.RunAsync(Path.Combine(openLoopLog, "timeline.tsv"), new RunningApp(service!, client), db.ConnectionString, timelineStop.Token);
            if (o.HalfWarmup > TimeSpan.Zero)
            {
                report.VerifyHalfWarmup = await driver.OpenLoopAsync("verify@half, warm-up", phases[1].Next, halfRate, o.HalfWarmup,
                    openLoopLog is null ? null : Path.Combine(openLoopLog, "latencies-warmup.tsv"));
            }

            report.VerifyHalf = await driver.OpenLoopAsync("verify@half", phases[1].Next, halfRate, o.HalfDuration,
                openLoopLog is null ? null : Path.Combine(openLoopLog, "latencies.tsv"));
            if (timeline is not null)
            {
                await timelineStop.CancelAsync();
                Log($"open loop: {await timeline} and latencies.tsv beside it");
            }
            report.ServiceRssPeakBytes = rss.Stop();
            report.ServiceVmHwmBytes = service!.Memory().Peak;

            // 5. The other routes.
            report.LoginDecisions = await LoginDecisionsAsync(o, client, driver, db.Pool, db.UserIds);
            report.Challenge = await ChallengeAsync(o, driver, service!, postgres, db, telnyx);
        }
        finally
        {
            service?.Dispose();
        }
    }

    /// <summary>The current build's environment with <c>BENCH_CURRENT_ENV</c> added (comma-separated <c>NAME=value</c> pairs, e.g.
    /// <c>DOTNET_GCgen0size=0x4000000</c>): a runtime or service setting tried on the current side of a pair only, while the
    /// baseline (even the same build) runs without it.</summary>
    private static Dictionary<string, string> WithCurrentSideEnvironment(Dictionary<string, string> environment)
    {
        foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_CURRENT_ENV") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = pair.IndexOf('=');
            if (at <= 0)
            {
                throw new ArgumentException($"BENCH_CURRENT_ENV: '{pair}' is not NAME=value.");
            }

            environment[pair[..at].Trim()] = pair[(at + 1)..];
        }

        return environment;
    }

    /// <summary>The key ring, the bootstrap admin key and the production-like environment every benched service runs with
    /// (also <c>make soak</c>'s, SoakRun.cs).</summary>
    public static (SecretBox Box, string AdminKey, Dictionary<string, string> Environment) ServiceSetup(TelnyxStandIn telnyx)
    {
        var keyId = "bench1";
        var key = RandomNumberGenerator.GetBytes(32);
        var box = new SecretBox(new Dictionary<string, byte[]> { [keyId] = key }, keyId);
        var adminKey = "bench-admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var serviceEnv = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Encryption__ActiveKeyId"] = keyId,
            [$"Encryption__Keys__{keyId}"] = Convert.ToBase64String(key),
            ["Auth__BootstrapAdminKey"] = adminKey,
            ["Telephony__Provider"] = "telnyx",
            ["Telephony__Telnyx__ApiKey"] = "x",
            ["Telephony__Telnyx__FromNumber"] = "+13035550100",
            ["Telephony__Telnyx__BaseUrl"] = telnyx.BaseUrl,
            ["Serilog__MinimumLevel__Default"] = "Warning",
            // The challenge phase sends ~N/4 SMS to US numbers within a minute: far above the deployment-wide caps'
            // defaults (500 per country and hour), which would answer 503 telephony_capped after the 500th. Far from a
            // cap the reservation takes the shared lock, as a production deployment does on an ordinary day.
            ["Telephony__Caps__Daily"] = "100000000",
            ["Telephony__Caps__PerCountryHourly"] = "100000000",
        };

        return (box, adminKey, serviceEnv);
    }

    /// <summary>One closed-loop workload, measured in several rounds against one database.</summary>
    private sealed class Phase(string name, ServiceProcess server, LoadDriver driver, RequestFactory next, string database)
    {
        public string Name => name;
        public LoadDriver Driver => driver;
        public RequestFactory Next => next;
        public List<(LoadResult Result, PhaseProfile Profile)> Rounds { get; } = [];

        public Measured Measured => new(LoadResult.Merge(name, Rounds.Select(r => r.Result)), PhaseProfile.Sum(Rounds.Select(r => r.Profile)),
            Rounds.Select(r => r.Result).ToList(), Rounds.Select(r => r.Profile).ToList());

        /// <summary>Per request over the whole round (warm-up included): CPU of the server, the client and PostgreSQL (all
        /// backends and helpers of the cluster), and transactions and rows written in this phase's database (pg_stat_database).</summary>
        public async Task<(LoadResult Result, PhaseProfile Profile)> Profiled(PostgresCpu? postgres, Func<Task<LoadResult>> run)
        {
            // Read before the CPU starting points below: the scrape's own cost stays out of the round.
            var allocatedBefore = await BenchServices.AllocatedBytesAsync(server.BaseAddress);
            var client = Process.GetCurrentProcess();
            var serverCpu = server.CpuTime();
            var clientCpu = client.TotalProcessorTime;
            var postgresCpu = postgres?.CpuTime() ?? TimeSpan.Zero;
            var before = await DatabaseCountersAsync(database);
            var wall = Stopwatch.StartNew();
            var result = await run();
            wall.Stop();
            var serverUsed = server.CpuTime() - serverCpu;
            var postgresUsed = postgres is null ? (TimeSpan?)null : postgres.CpuTime() - postgresCpu;
            client.Refresh();
            var clientUsed = client.TotalProcessorTime - clientCpu;
            var atOnce = await DatabaseCountersAsync(database); // the cluster's next xid and WAL position, before anything else writes
            var allocatedAfter = await BenchServices.AllocatedBytesAsync(server.BaseAddress);
            // A backend flushes its statistics at most once a second, and what it holds when it goes idle within that second
            // only when its idle timer fires, up to 10 s later (PostgreSQL 15: PGSTAT_MIN_INTERVAL, PGSTAT_IDLE_INTERVAL). So
            // most of a round's transactions and rows are in by now, and a backend's last second can land in a later window.
            await Task.Delay(1100);
            var after = await DatabaseCountersAsync(database);
            return (result, new PhaseProfile(result.Issued, serverUsed, clientUsed, postgresUsed, after.Commits - before.Commits,
                after.RowsWritten - before.RowsWritten, wall.Elapsed, allocatedAfter - allocatedBefore, atOnce.NextXid - before.NextXid,
                atOnce.WalBytes - before.WalBytes));
        }
    }

    private static async Task<LoadResult?> LoginDecisionsAsync(BenchOptions o, HttpClient client, LoadDriver driver, UserPool pool,
        string[] userIds)
    {
        HttpRequestMessage Decision() => Post("/v1/login-decisions", $"{{\"userId\":\"{userIds[pool.Next()]}\",\"loginMethod\":\"password\"}}");
        using (var probe = await client.SendAsync(Decision()))
        {
            if (probe.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }

        Log("login-decisions: closed loop");
        return await driver.ClosedLoopAsync("login-decisions", Decision, o.Workers, o.Warmup / 2, o.Duration / 2);
    }

    /// <summary>The SMS button: <c>POST …/challenge</c> for phone users, each at most once, through the real Telnyx
    /// adapter and its resilience pipeline to a loopback stand-in. Every answer must be 202 and every one a delivery. Its CPU
    /// per request is measured like a round's (<see cref="Phase.Profiled"/>), after a warm-up of its own that is not counted:
    /// the path is cold when the phase starts, and in its first seconds the runtime's tiered compiler took a quarter of the
    /// service's CPU. A challenge is about twenty statements and two calls to the provider, so its cost is the database's as
    /// much as the service's.</summary>
    private static async Task<string> ChallengeAsync(BenchOptions o, LoadDriver driver, ServiceProcess service, PostgresCpu? postgres,
        BenchDatabase db, TelnyxStandIn telnyx)
    {
        var next = -1;
        var phoneUserIds = db.PhoneUserIds;
        HttpRequestMessage? Challenge()
        {
            var i = Interlocked.Increment(ref next);
            return i < phoneUserIds.Length ? Post($"/v1/users/{phoneUserIds[i]}/two-factor/challenge", "{\"channel\":\"sms\"}") : null;
        }

        Log("challenge: closed loop, phone users, loopback Telnyx");
        var before = telnyx.Received;
        var warm = await driver.ClosedLoopAsync("challenge (warm-up)", Challenge, o.Workers, o.Warmup / 2, TimeSpan.Zero);
        await Task.Delay(1100); // most of the warm-up's statistics are flushed by then (see Phase.Profiled)
        var phase = new Phase("challenge", service, driver, Challenge, db.ConnectionString);
        var (result, profile) = await phase.Profiled(postgres,
            () => driver.ClosedLoopAsync("challenge", Challenge, o.Workers, TimeSpan.Zero, o.Duration / 2));
        var delivered = telnyx.Received - before;
        return $"{Report.Summary(result)}; {delivered:N0} SMS reached the stand-in for {warm.Issued + result.Issued:N0} challenges; " +
               $"CPU per challenge after the warm-up: {profile.Describe()}";
    }
}

/// <summary>A closed-loop workload over all its rounds, and each round.</summary>
public sealed record Measured(LoadResult Result, PhaseProfile Profile, List<LoadResult> Rounds, List<PhaseProfile> RoundProfiles);
