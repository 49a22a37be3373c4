using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace AuthService.Bench.Load;

/// <summary>Builds the next request, or null when no request can be made (user pool exhausted for this step).</summary>
public delegate HttpRequestMessage? RequestFactory();

public sealed record LoadResult(
    string Name,
    double Seconds,
    long Requests,
    long Errors,
    double[] LatenciesMs,
    bool StoppedEarly,
    IReadOnlyList<string> ErrorSamples,
    long Issued)
{
    public double Throughput => Seconds > 0 ? Requests / Seconds : 0;

    /// <summary>Several rounds of one workload as one result (time, requests and latencies pooled).</summary>
    public static LoadResult Merge(string name, IEnumerable<LoadResult> rounds)
    {
        var all = rounds.ToList();
        var latencies = all.SelectMany(r => r.LatenciesMs).ToArray();
        Array.Sort(latencies);
        return new LoadResult(name, all.Sum(r => r.Seconds), all.Sum(r => r.Requests), all.Sum(r => r.Errors), latencies,
            all.Any(r => r.StoppedEarly), all.SelectMany(r => r.ErrorSamples).Take(5).ToList(), all.Sum(r => r.Issued));
    }

    public double Percentile(double p)
    {
        if (LatenciesMs.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * LatenciesMs.Length) - 1;
        return LatenciesMs[Math.Clamp(rank, 0, LatenciesMs.Length - 1)];
    }
}

/// <summary>Closed loop (N workers back to back: saturation) and open loop (fixed arrival rate, latency measured
/// from the intended send time so a stalled server is not hidden by a stalled client).</summary>
public sealed class LoadDriver(HttpClient client)
{
    public async Task<LoadResult> ClosedLoopAsync(string name, RequestFactory next, int workers, TimeSpan warmup, TimeSpan duration)
    {
        var begin = Stopwatch.GetTimestamp();
        var measureFrom = begin + Ticks(warmup);
        var measureTo = measureFrom + Ticks(duration);
        var stoppedAt = long.MaxValue;
        var samples = new List<double>[workers];
        var errors = new long[workers];
        var errorSamples = new List<string>();
        long issued = 0;

        async Task Worker(int w)
        {
            var mine = samples[w] = new List<double>(1 << 16);
            while (true)
            {
                var start = Stopwatch.GetTimestamp();
                if (start >= measureTo || start >= Volatile.Read(ref stoppedAt))
                {
                    return;
                }

                using var request = next();
                if (request is null)
                {
                    Interlocked.CompareExchange(ref stoppedAt, start, long.MaxValue);
                    return;
                }

                Interlocked.Increment(ref issued);
                var error = await SendAsync(request);
                var end = Stopwatch.GetTimestamp();
                if (start < measureFrom || end > measureTo)
                {
                    continue;
                }

                if (error is null)
                {
                    mine.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
                }
                else
                {
                    errors[w]++;
                    Sample(errorSamples, error);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => Worker(w))));
        var until = Math.Min(measureTo, stoppedAt);
        var seconds = Math.Max(0, Stopwatch.GetElapsedTime(measureFrom, until).TotalSeconds);
        var all = samples.SelectMany(s => s).ToArray();
        Array.Sort(all);
        return new LoadResult(name, seconds, all.Length, errors.Sum(), all, stoppedAt != long.MaxValue, errorSamples, issued);
    }

    /// <param name="latencyLog">A file to write every request's intended send time and latency to (a diagnosis of the tail).</param>
    public async Task<LoadResult> OpenLoopAsync(string name, RequestFactory next, double ratePerSecond, TimeSpan duration, string? latencyLog = null)
    {
        var total = (int)(ratePerSecond * duration.TotalSeconds);
        var latencies = new double[total];
        var failed = new bool[total];
        var errorSamples = new List<string>();
        var interval = Stopwatch.Frequency / ratePerSecond;
        var t0 = Stopwatch.GetTimestamp();
        var tasks = new List<Task>(total);
        var sent = 0;
        var stoppedEarly = false;

        async Task One(int i, long due, HttpRequestMessage request)
        {
            using (request)
            {
                var error = await SendAsync(request);
                latencies[i] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                if (error is not null)
                {
                    failed[i] = true;
                    Sample(errorSamples, error);
                }
            }
        }

        for (; sent < total; sent++)
        {
            var due = t0 + (long)(sent * interval);
            while (Stopwatch.GetTimestamp() < due)
            {
                // Behind schedule never waits; ahead of it sleeps ~1 ms instead of spinning on the shared cores.
                await Task.Delay(1);
            }

            var request = next();
            if (request is null)
            {
                stoppedEarly = true;
                break;
            }

            tasks.Add(One(sent, due, request));
        }

        await Task.WhenAll(tasks);
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        if (latencyLog is not null)
        {
            // Each request by its intended send time, so a slow stretch can be read against the timeline of the same seconds.
            await File.WriteAllLinesAsync(latencyLog, new[] { "due_seconds\tlatency_ms\tfailed" }.Concat(Enumerable.Range(0, sent).Select(i =>
                string.Create(CultureInfo.InvariantCulture, $"{i * interval / Stopwatch.Frequency:F4}\t{latencies[i]:F3}\t{(failed[i] ? 1 : 0)}"))));
        }

        var ok = latencies.Take(sent).Where((_, i) => !failed[i]).ToArray();
        Array.Sort(ok);
        return new LoadResult(name, seconds, ok.Length, failed.Take(sent).Count(f => f), ok, stoppedEarly, errorSamples, sent);
    }

    /// <summary>Null on 200; otherwise what went wrong.</summary>
    private async Task<string?> SendAsync(HttpRequestMessage request)
    {
        try
        {
            using var response = await client.SendAsync(request);
            if (response.IsSuccessStatusCode) // 200 for verify, 202 for a challenge
            {
                return null;
            }

            var body = await response.Content.ReadAsStringAsync();
            return $"{(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    private static void Sample(List<string> samples, string error)
    {
        lock (samples)
        {
            if (samples.Count < 5)
            {
                samples.Add(error);
            }
        }
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
