using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuthService.Core.Security;
using AuthService.Core.Totp;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Bench.Load;

/// <summary>One database of the bench cluster, migrated by one build of the service and seeded behind it: its users (TOTP
/// with backup codes, and phone users), the verify API key created through that build's API, and the user pool that hands
/// each user out at most once per TOTP step. Every build benched gets its own, so a step is never replayed across builds.</summary>
public sealed class BenchDatabase
{
    private BenchDatabase(string name, string connectionString, string[] userIds, byte[][] secrets, string[] phoneUserIds, string verifyKey)
    {
        Name = name;
        ConnectionString = connectionString;
        UserIds = userIds;
        Secrets = secrets;
        PhoneUserIds = phoneUserIds;
        VerifyKey = verifyKey;
        Pool = new UserPool(userIds.Length);
    }

    public string Name { get; }
    public string ConnectionString { get; }
    public string[] UserIds { get; }
    public byte[][] Secrets { get; }
    public string[] PhoneUserIds { get; }
    public string VerifyKey { get; }
    public UserPool Pool { get; }

    public static async Task<BenchDatabase> PrepareAsync(BenchOptions o, string name, string serviceDll,
        IReadOnlyDictionary<string, string> serviceEnv, SecretBox box, string adminKey)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(o.PgConnectionString) { Database = name }.ConnectionString;
        await Seeder.CreateDatabaseAsync(o.PgConnectionString, name);
        BenchServices.Log($"{name}: migrating with {serviceDll}, seeding {o.Users:N0} users");
        var userIds = Enumerable.Range(0, o.Users).Select(i => $"bench-user-{i:D7}").ToArray();
        var secrets = userIds.Select(_ => RandomNumberGenerator.GetBytes(20)).ToArray();
        // Each phone user may get 10 codes a day: enough users that the challenge phase never meets the budget.
        var phoneUserIds = Enumerable.Range(0, o.Users / 4).Select(i => $"bench-phone-{i:D7}").ToArray();
        var empty = new BenchDatabase(name, connectionString, userIds, secrets, phoneUserIds, "");
        var uri = new Uri($"http://127.0.0.1:{ServiceProcess.FreePort()}");
        using var first = ServiceProcess.Start($"service ({name}, first start)", serviceDll, uri, empty.ServiceEnvironment(serviceEnv), o.PidFile);
        await first.ReadyOrThrowAsync(TimeSpan.FromSeconds(60));
        var seedWatch = Stopwatch.StartNew();
        await Seeder.SeedAsync(connectionString, box, userIds, secrets, o.BackupCodesPerUser);
        await Seeder.PhoneUsersAsync(connectionString, box, phoneUserIds, Seeder.PhoneNumber);
        BenchServices.Log($"{name}: seeded in {seedWatch.Elapsed.TotalSeconds:F1} s");
        var verifyKey = await BenchServices.CreateVerifyKeyAsync(uri, adminKey);
        return new BenchDatabase(name, connectionString, userIds, secrets, phoneUserIds, verifyKey);
    }

    /// <summary>The service's environment on this database (or on <paramref name="connectionString"/>, e.g. through PgBouncer).
    /// <c>BENCH_SERVICE_CONN_EXTRA</c> (e.g. ";Maximum Pool Size=16") tries a pool setting on the direct services only.</summary>
    public Dictionary<string, string> ServiceEnvironment(IReadOnlyDictionary<string, string> common, string? connectionString = null,
        bool pgbouncer = false)
    {
        var env = new Dictionary<string, string>(common)
        {
            ["ConnectionStrings__Auth"] = connectionString ?? ConnectionString + (Environment.GetEnvironmentVariable("BENCH_SERVICE_CONN_EXTRA") ?? ""),
        };
        if (pgbouncer)
        {
            env["Database__Pooler"] = "pgbouncer";
        }

        return env;
    }

    /// <summary><c>POST …/verify</c> with the code the user's authenticator shows now (Core's <see cref="TotpVerifier.CodeAt"/>,
    /// held to Otp.NET by the tests), each user at most once per step.</summary>
    public RequestFactory Verifications() => () =>
    {
        var step = TotpProfile.Default.StepAt(DateTimeOffset.UtcNow);
        if (!Pool.TryTake(step, out var u))
        {
            return null;
        }

        var code = TotpVerifier.CodeAt(Secrets[u], TotpProfile.Default, step);
        // Two steps share a code once in a million, and the service records the latest step a code matches, with its clock
        // possibly a step on already (its window reaches step + 2). That user's code of the later step would then come back
        // as a replay (a 422 the bench counts as a failed check), so the user is spent through it.
        for (var later = step + 1; later <= step + 1 + TotpVerifier.WindowSteps; later++)
        {
            if (TotpVerifier.CodeAt(Secrets[u], TotpProfile.Default, later) == code)
            {
                Pool.UsedThrough(u, later);
            }
        }

        return BenchServices.Post($"/v1/users/{UserIds[u]}/two-factor/verify", $"{{\"code\":\"{code}\"}}");
    };
}

/// <summary>A started app (service or ceiling) with the client that loads it.</summary>
public sealed record RunningApp(ServiceProcess Process, HttpClient Client) : IDisposable
{
    public void Dispose()
    {
        Client.Dispose();
        Process.Dispose();
    }
}

public static class BenchServices
{
    /// <summary>The bare app (<c>bench/AuthService.Bench.Ceiling</c>) on its own port, with the given connection string.</summary>
    public static RunningApp StartCeiling(string name, BenchOptions o, string connectionString)
    {
        var uri = new Uri($"http://127.0.0.1:{ServiceProcess.FreePort()}");
        var process = ServiceProcess.Start(name, o.CeilingDll, uri, new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ConnectionStrings__Auth"] = connectionString,
        }, o.PidFile);
        return new RunningApp(process, NewClient(uri, null));
    }

    /// <summary>A further service process (another build, or the same one through PgBouncer), on its own port, ready.</summary>
    public static async Task<RunningApp> StartServiceAsync(string name, BenchOptions o, string dll, IReadOnlyDictionary<string, string> env,
        string verifyKey)
    {
        var uri = new Uri($"http://127.0.0.1:{ServiceProcess.FreePort()}");
        var process = ServiceProcess.Start(name, dll, uri, env, o.PidFile);
        await process.ReadyOrThrowAsync(TimeSpan.FromSeconds(60));
        await ScrapeMetricsAsync(uri);
        return new RunningApp(process, NewClient(uri, verifyKey));
    }

    /// <summary>One <c>GET /metrics</c>, as Prometheus makes in production. prometheus-net starts its default listeners
    /// (.NET meters, and event counters unless suppressed) at the first scrape, and from then on they run on every request,
    /// so a service that nobody scrapes is cheaper than the one production runs. The bench scrapes each service once
    /// when it is ready.</summary>
    public static async Task ScrapeMetricsAsync(Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        using var response = await http.GetAsync("/metrics");
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The bytes the service has allocated on its managed heap since it started, from the runtime meter it publishes
    /// at <c>/metrics</c> (<c>system_runtime_dotnet_gc_heap_total_allocated</c>); null for an app without it (the ceiling).
    /// The scrape itself allocates a few kilobytes in the service, against the round's hundreds of megabytes.</summary>
    public static async Task<long?> AllocatedBytesAsync(Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        using var response = await http.GetAsync("/metrics");
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.StartsWith("system_runtime_dotnet_gc_heap_total_allocated ", StringComparison.Ordinal))
            {
                return (long)double.Parse(line.AsSpan(line.IndexOf(' ') + 1), CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>Every phase starts from the same database state: dead tuples of the earlier phase vacuumed (in every
    /// database of the run), dirty pages written, so that neither autovacuum nor a checkpoint lands on one phase only.</summary>
    public static async Task SettleAsync(IEnumerable<string> connectionStrings)
    {
        foreach (var connectionString in connectionStrings)
        {
            await ExecuteAsync(connectionString, "vacuum (analyze)");
        }

        await ExecuteAsync(connectionStrings.First(), "checkpoint");

        static async Task ExecuteAsync(string connectionString, string sql)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 300 };
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Transactions committed and rows written in this database (<c>pg_stat_database</c>, which backends report late:
    /// bench/README.md), and for the whole cluster the next transaction id and the WAL position, both current at once: the
    /// writing transactions (those given an id) and WAL bytes between two reads are a phase's own, besides what autovacuum and
    /// the idle services' housekeeping write meanwhile.</summary>
    public static async Task<DatabaseCounters> DatabaseCountersAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select xact_commit, tup_inserted + tup_updated + tup_deleted,
                   pg_snapshot_xmax(pg_current_snapshot())::text::bigint, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint
            from pg_stat_database where datname = current_database()
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new DatabaseCounters(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    public static HttpRequestMessage Post(string path, string json) => new(HttpMethod.Post, path)
    {
        Content = new StringContent(json, Encoding.UTF8, "application/json"),
    };

    /// <summary>Most connections a client opens to one app. A closed loop uses one per worker; an open loop needs about
    /// rate × latency (tens). When the service stalls, the open loop keeps sending on schedule: unbounded, it opened a
    /// connection per waiting request, reached the process's 20,000 descriptors within seconds and died "Out of memory"
    /// (two soaks, 2026-12-06). Capped, requests past it wait in the client for a connection, and their latency, counted
    /// from the intended send time, shows the stall.</summary>
    public const int MaxConnections = 512;

    public static HttpClient NewClient(Uri baseAddress, string? apiKey)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = MaxConnections,
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

    public static async Task<string> CreateVerifyKeyAsync(Uri serviceUri, string adminKey)
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

    public static void Log(string message) => Console.Error.WriteLine($"bench: {message}");
}

/// <summary>Peak VmRSS of a process, sampled every 50 ms.</summary>
public sealed class RssSampler : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peak;

    public RssSampler(ServiceProcess process)
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

/// <summary>See <see cref="BenchServices.DatabaseCountersAsync"/>.</summary>
public sealed record DatabaseCounters(long Commits, long RowsWritten, long NextXid, long WalBytes);
