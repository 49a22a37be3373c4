using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Bench.Load;

/// <summary>The load half of <c>make bench</c>: seeds a throwaway database, starts the real service and the ceiling app,
/// drives them from one client, and prints the one table (with the micro results read from JSON).</summary>
public static class LoadEntry
{
    public static async Task<int> Main(string[] args)
    {
        var o = BenchOptions.Parse(args);
        var report = new Report(o);
        try
        {
            await RunAsync(o, report);
            report.Print();
            return report.PipelineOk ? 0 : 1;
        }
        catch (Exception e)
        {
            report.Print();
            Console.Error.WriteLine($"bench: FAILED: {e.Message}");
            return 1;
        }
    }

    private static async Task RunAsync(BenchOptions o, Report report)
    {
        var database = "authbench";
        var admin = new NpgsqlConnectionStringBuilder(o.PgConnectionString);
        var db = new NpgsqlConnectionStringBuilder(o.PgConnectionString) { Database = database };
        await Seeder.CreateDatabaseAsync(admin.ConnectionString, database);

        var keyId = "bench1";
        var key = RandomNumberGenerator.GetBytes(32);
        var adminKey = "bench-admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var servicePort = FreePort();
        using var telnyx = new TelnyxStandIn(FreePort());
        var serviceEnv = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{servicePort}",
            // BENCH_SERVICE_CONN_EXTRA (e.g. ";Maximum Pool Size=16") tries a pool setting on the service only.
            ["ConnectionStrings__Auth"] = db.ConnectionString + (Environment.GetEnvironmentVariable("BENCH_SERVICE_CONN_EXTRA") ?? ""),
            ["Encryption__ActiveKeyId"] = keyId,
            [$"Encryption__Keys__{keyId}"] = Convert.ToBase64String(key),
            ["Auth__BootstrapAdminKey"] = adminKey,
            ["Telephony__Provider"] = "telnyx",
            ["Telephony__Telnyx__ApiKey"] = "x",
            ["Telephony__Telnyx__FromNumber"] = "+13035550100",
            ["Telephony__Telnyx__BaseUrl"] = telnyx.BaseUrl,
            ["Serilog__MinimumLevel__Default"] = "Warning",
        };
        var serviceUri = new Uri($"http://127.0.0.1:{servicePort}");

        // 1. First start migrates the empty database; seed behind it.
        Log($"migrating and seeding {o.Users:N0} users");
        var userIds = Enumerable.Range(0, o.Users).Select(i => $"bench-user-{i:D7}").ToArray();
        var secrets = userIds.Select(_ => RandomNumberGenerator.GetBytes(20)).ToArray();
        // Each phone user may get 10 codes a day: enough users that the challenge phase never meets the budget.
        var phoneUserIds = Enumerable.Range(0, o.Users / 4).Select(i => $"bench-phone-{i:D7}").ToArray();
        string verifyKey;
        using (var first = ChildProcess.Start("service", o.ServiceDll, serviceEnv, o.PidFile))
        {
            await WaitReadyAsync(first, serviceUri, TimeSpan.FromSeconds(60));
            var seedWatch = Stopwatch.StartNew();
            var box = new SecretBox(new Dictionary<string, byte[]> { [keyId] = key }, keyId);
            await Seeder.SeedAsync(db.ConnectionString, box, userIds, secrets, o.BackupCodesPerUser);
            await Seeder.SeedPhoneUsersAsync(db.ConnectionString, box, phoneUserIds);
            Log($"seeded in {seedWatch.Elapsed.TotalSeconds:F1} s");
            verifyKey = await CreateVerifyKeyAsync(serviceUri, adminKey);
        }

        // 2. Cold starts on the migrated database: process start → /health/ready 200. The last one serves the load.
        var coldStarts = new List<double>();
        ChildProcess? service = null;
        try
        {
            for (var i = 0; i < o.ColdStarts; i++)
            {
                service?.Dispose();
                var watch = Stopwatch.StartNew();
                service = ChildProcess.Start("service", o.ServiceDll, serviceEnv, o.PidFile);
                await WaitReadyAsync(service, serviceUri, TimeSpan.FromSeconds(60));
                coldStarts.Add(watch.Elapsed.TotalSeconds);
            }

            report.ColdStartsSeconds = coldStarts;
            using var client = NewClient(serviceUri, verifyKey);
            var driver = new LoadDriver(client);
            var pool = new UserPool(o.Users);
            RequestFactory verify = () =>
            {
                var step = Totp.CurrentStep();
                if (!pool.TryTake(step, out var u))
                {
                    return null;
                }

                return Post($"/v1/users/{userIds[u]}/two-factor/verify", $"{{\"code\":\"{Totp.Code(secrets[u], step)}\"}}");
            };

            // 3. Saturation of verify and of the two ceilings, interleaved in rounds (ceiling, verify, tuned ceiling) so
            //    that drift of this shared machine hits all three alike; each round starts from a vacuumed, checkpointed
            //    database. The ceilings idle until their turn.
            using var ceiling = StartCeiling("ceiling", o, db.ConnectionString);
            using var tuned = StartCeiling("ceiling-tuned", o, AuthService.Api.Hosting.ServiceRegistration.TunedConnectionString(db.ConnectionString));
            await Task.WhenAll(WaitReadyAsync(ceiling.Process, ceiling.Uri, TimeSpan.FromSeconds(60)),
                WaitReadyAsync(tuned.Process, tuned.Uri, TimeSpan.FromSeconds(60)));
            var ceilingPool = new UserPool(o.Users);
            RequestFactory check = () => Post($"/users/{userIds[ceilingPool.Next()]}/check", "{\"code\":\"123456\"}");
            var phases = new List<Phase>
            {
                new Phase("ceiling", ceiling.Process, new LoadDriver(ceiling.Client), check),
                new Phase("verify", service!, driver, verify),
                new Phase("ceiling-tuned", tuned.Process, new LoadDriver(tuned.Client), check),
            };

            // A second service on the same database through PgBouncer, in the same rounds and on the same user pool.
            using var bounced = o.PgBouncerConnectionString is { } pgbouncer
                ? await StartBehindPgBouncerAsync(o, serviceEnv, new NpgsqlConnectionStringBuilder(pgbouncer) { Database = database }.ConnectionString, verifyKey)
                : null;
            if (bounced is not null)
            {
                phases.Add(new Phase("verify-pgbouncer", bounced.Process, new LoadDriver(bounced.Client), verify));
            }

            var postgres = await PostgresCpu.FindAsync(db.ConnectionString);
            using var rss = new RssSampler(service!);
            var roundLength = o.Duration / o.Rounds;
            for (var round = 0; round < o.Rounds; round++)
            {
                foreach (var phase in phases)
                {
                    await SettleAsync(db.ConnectionString);
                    var warmup = round == 0 ? o.Warmup : TimeSpan.FromSeconds(Math.Min(1, o.Warmup.TotalSeconds));
                    Log($"round {round + 1}/{o.Rounds}: {phase.Name}, {o.Workers} workers, {warmup.TotalSeconds:0.#} s warm-up + {roundLength.TotalSeconds:0.#} s");
                    phase.Rounds.Add(await Profiled(phase, postgres, db.ConnectionString,
                        () => phase.Driver.ClosedLoopAsync(phase.Name, phase.Next, o.Workers, warmup, roundLength)));
                }
            }

            report.Verify = phases[1].Result;
            report.Ceiling = phases[0].Result;
            report.TunedCeiling = phases[2].Result;
            report.VerifyRounds = phases[1].Rounds.Select(r => r.Result).ToList();
            report.CeilingRounds = phases[0].Rounds.Select(r => r.Result).ToList();
            report.TunedCeilingRounds = phases[2].Rounds.Select(r => r.Result).ToList();
            report.VerifyProfile = phases[1].Profile;
            if (bounced is not null)
            {
                report.VerifyPgBouncer = phases[3].Result;
                report.VerifyPgBouncerRounds = phases[3].Rounds.Select(r => r.Result).ToList();
                report.VerifyPgBouncerProfile = phases[3].Profile;
            }

            report.CeilingProfile = phases[0].Profile;
            report.TunedCeilingProfile = phases[2].Profile;

            // 4. Half of the verify saturation at a fixed rate, with the service's RSS sampled throughout.
            var halfRate = Math.Max(1, report.Verify.Throughput / 2);
            await SettleAsync(db.ConnectionString);
            Log($"verify: open loop at {halfRate:F0} req/s for {o.HalfDuration.TotalSeconds:0.#} s");
            report.VerifyHalf = await driver.OpenLoopAsync("verify@half", verify, halfRate, o.HalfDuration);
            report.ServiceRssPeakBytes = rss.Stop();
            report.ServiceVmHwmBytes = service!.Memory().Peak;

            // 5. The other routes.
            report.LoginDecisions = await LoginDecisionsAsync(o, client, driver, pool, userIds);
            report.Challenge = await ChallengeAsync(o, driver, phoneUserIds, telnyx);
        }
        finally
        {
            service?.Dispose();
        }
    }

    private sealed record Ceiling(ChildProcess Process, Uri Uri, HttpClient Client) : IDisposable
    {
        public void Dispose()
        {
            Client.Dispose();
            Process.Dispose();
        }
    }

    /// <summary>The bare app (<c>bench/AuthService.Bench.Ceiling</c>) on its own port, with the given connection string.</summary>
    private static Ceiling StartCeiling(string name, BenchOptions o, string connectionString)
    {
        var uri = new Uri($"http://127.0.0.1:{FreePort()}");
        var process = ChildProcess.Start(name, o.CeilingDll, new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = uri.ToString(),
            ["ConnectionStrings__Auth"] = connectionString,
        }, o.PidFile);
        return new Ceiling(process, uri, NewClient(uri, null));
    }

    /// <summary>The service again, on its own port, reaching the database through PgBouncer with
    /// <c>Database:Pooler=pgbouncer</c>.</summary>
    private static async Task<Ceiling> StartBehindPgBouncerAsync(BenchOptions o, Dictionary<string, string> serviceEnv,
        string connectionString, string verifyKey)
    {
        var uri = new Uri($"http://127.0.0.1:{FreePort()}");
        var env = new Dictionary<string, string>(serviceEnv)
        {
            ["ASPNETCORE_URLS"] = uri.ToString(),
            ["ConnectionStrings__Auth"] = connectionString,
            ["Database__Pooler"] = "pgbouncer",
        };
        var process = ChildProcess.Start("service-pgbouncer", o.ServiceDll, env, o.PidFile);
        await WaitReadyAsync(process, uri, TimeSpan.FromSeconds(60));
        return new Ceiling(process, uri, NewClient(uri, verifyKey));
    }

    /// <summary>One closed-loop workload, measured in several rounds.</summary>
    private sealed class Phase(string name, ChildProcess server, LoadDriver driver, RequestFactory next)
    {
        public string Name => name;
        public ChildProcess Server => server;
        public LoadDriver Driver => driver;
        public RequestFactory Next => next;
        public List<(LoadResult Result, PhaseProfile Profile)> Rounds { get; } = [];
        public LoadResult Result => LoadResult.Merge(name, Rounds.Select(r => r.Result));
        public PhaseProfile Profile => PhaseProfile.Sum(Rounds.Select(r => r.Profile));
    }

    /// <summary>Every phase starts from the same database state: dead tuples of the earlier phase vacuumed, dirty
    /// pages written, so that neither autovacuum nor a checkpoint lands on one phase only.</summary>
    private static async Task SettleAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var sql in new[] { "vacuum (analyze)", "checkpoint" })
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 300 };
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Per request over the whole round (warm-up included): CPU of the server, the client and PostgreSQL (all
    /// backends and helpers of the cluster), and database transactions and rows written (pg_stat_database).</summary>
    private static async Task<(LoadResult Result, PhaseProfile Profile)> Profiled(Phase phase, PostgresCpu? postgres,
        string connectionString, Func<Task<LoadResult>> run)
    {
        var client = Process.GetCurrentProcess();
        var serverCpu = phase.Server.CpuTime();
        var clientCpu = client.TotalProcessorTime;
        var postgresCpu = postgres?.CpuTime() ?? TimeSpan.Zero;
        var before = await DatabaseCountersAsync(connectionString);
        var wall = Stopwatch.StartNew();
        var result = await run();
        wall.Stop();
        var serverUsed = phase.Server.CpuTime() - serverCpu;
        var postgresUsed = postgres is null ? (TimeSpan?)null : postgres.CpuTime() - postgresCpu;
        client.Refresh();
        var clientUsed = client.TotalProcessorTime - clientCpu;
        await Task.Delay(1100); // backends flush their statistics at most once a second
        var after = await DatabaseCountersAsync(connectionString);
        return (result, new PhaseProfile(result.Issued, serverUsed, clientUsed, postgresUsed, after.Commits - before.Commits,
            after.RowsWritten - before.RowsWritten, wall.Elapsed));
    }

    private static async Task<(long Commits, long RowsWritten)> DatabaseCountersAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select xact_commit, tup_inserted + tup_updated + tup_deleted from pg_stat_database where datname = current_database()",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
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
    /// adapter and its resilience pipeline to a loopback stand-in. Every answer must be 202 and every one a delivery.</summary>
    private static async Task<string> ChallengeAsync(BenchOptions o, LoadDriver driver, string[] phoneUserIds, TelnyxStandIn telnyx)
    {
        var next = -1;
        HttpRequestMessage? Challenge()
        {
            var i = Interlocked.Increment(ref next);
            return i < phoneUserIds.Length ? Post($"/v1/users/{phoneUserIds[i]}/two-factor/challenge", "{\"channel\":\"sms\"}") : null;
        }

        Log("challenge: closed loop, phone users, loopback Telnyx");
        var before = telnyx.Received;
        var result = await driver.ClosedLoopAsync("challenge", Challenge, o.Workers, o.Warmup / 2, o.Duration / 2);
        var delivered = telnyx.Received - before;
        return $"{Report.Summary(result)}; {delivered:N0} SMS reached the stand-in for {result.Issued:N0} challenges";
    }

    private static HttpRequestMessage Post(string path, string json) => new(HttpMethod.Post, path)
    {
        Content = new StringContent(json, Encoding.UTF8, "application/json"),
    };

    private static HttpClient NewClient(Uri baseAddress, string? apiKey)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
        };
        var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    private static async Task<string> CreateVerifyKeyAsync(Uri serviceUri, string adminKey)
    {
        using var client = NewClient(serviceUri, adminKey);
        using var response = await client.PostAsJsonAsync("/v1/api-keys", new { name = "bench", scopes = new[] { "verify" } });
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /v1/api-keys answered {(int)response.StatusCode}: {body}");
        }

        return JsonDocument.Parse(body).RootElement.GetProperty("key").GetString()!;
    }

    private static async Task WaitReadyAsync(ChildProcess process, Uri baseAddress, TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Name} exited before it was ready:\n{process.Tail}");
            }

            try
            {
                using var response = await client.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"{process.Name} not ready within {timeout.TotalSeconds} s:\n{process.Tail}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static void Log(string message) => Console.Error.WriteLine($"bench: {message}");
}

/// <summary>Peak VmRSS of a process, sampled every 50 ms.</summary>
public sealed class RssSampler : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peak;

    public RssSampler(ChildProcess process)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var (rss, _) = process.Memory();
                _peak = Math.Max(_peak, rss);
                try
                {
                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
    }

    public long Stop()
    {
        _stop.Cancel();
        _loop.Wait();
        return _peak;
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            Stop();
        }

        _stop.Dispose();
    }
}
