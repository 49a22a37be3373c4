using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace AuthService.Bench.Load;

/// <summary>The soak's second-by-second record, so that a stall in one window can be read against what the service and the
/// database were doing at that moment: the service's VmRSS, its own queue and batch metrics, Npgsql's pool, the thread pool
/// and the GC (all from <c>/metrics</c>), and PostgreSQL's backends by state and wait event. One row per series and second
/// (<c>seconds, series, value</c>); counters stay cumulative, as scraped.</summary>
public static class SoakTimeline
{
    /// <summary>The series kept, by name prefix.</summary>
    private static readonly string[] Prefixes =
    [
        "authservice_login_", "db_client_connections_", "http_requests_in_progress",
        "system_runtime_dotnet_thread_pool_", "system_runtime_dotnet_gc_pause_time", "system_runtime_dotnet_gc_collections",
        "system_runtime_dotnet_monitor_lock_contentions", "dotnet_total_memory_bytes",
    ];

    public const string Describe = "VmRSS; the login queue and batch sizes; Npgsql's pool; the thread pool's queue and threads; " +
                                   "GC collections and pause; PostgreSQL's backends by state and wait event; the WAL written and its full-page images";

    public static async Task<string> RunAsync(string path, RunningApp service, string connectionString, CancellationToken stop)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await using var output = new StreamWriter(path);
        await output.WriteLineAsync("seconds\tseries\tvalue");
        await using var database = new NpgsqlConnection(connectionString);
        await database.OpenAsync(CancellationToken.None);
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                var at = clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
                await output.WriteLineAsync($"{at}\tvmrss_bytes\t{service.Process.Memory().Rss}");
                try
                {
                    using var scrape = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    foreach (var line in (await service.Client.GetStringAsync("/metrics", scrape.Token)).Split('\n'))
                    {
                        if (!line.StartsWith('#') && Prefixes.Any(p => line.StartsWith(p, StringComparison.Ordinal)) && line.LastIndexOf(' ') is > 0 and var space)
                        {
                            await output.WriteLineAsync($"{at}\t{line[..space]}\t{line[(space + 1)..]}");
                        }
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    await output.WriteLineAsync($"{at}\tscrape_failed\t1"); // a stalled service is what this file is for
                }

                // The cluster's WAL position (exact) and full-page images (pg_stat_wal, as backends report them): the WAL a
                // second cost, and how much of it was 8 kB page images written after a checkpoint.
                await using var command = new NpgsqlCommand("""
                    select coalesce(state, 'none') || '/' || coalesce(wait_event, 'cpu'), count(*)
                    from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() group by 1
                    union all select 'wal_bytes', (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint
                    union all select 'wal_fpi', wal_fpi from pg_stat_wal
                    """, database);
                await using var reader = await command.ExecuteReaderAsync(CancellationToken.None);
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    var series = reader.GetString(0);
                    await output.WriteLineAsync($"{at}\t{(series.StartsWith("wal_", StringComparison.Ordinal) ? series : $"pg_backends{{{series}}}")}\t{reader.GetInt64(1)}");
                }
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        return path;
    }
}
