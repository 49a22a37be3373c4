using System.Diagnostics;
using AuthService.Api.Observability;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Health;

/// <summary>One comparison of this instance's clock (the injected <see cref="TimeProvider"/>, on which every rolling
/// window, expiry and TOTP step is decided) with the database's <c>clock_timestamp()</c>. <see cref="Seconds"/> is
/// positive when the instance is ahead; <see cref="Uncertainty"/> is half the round trip, within which the true
/// difference lies.</summary>
public readonly record struct ClockReading(TimeSpan Skew, TimeSpan Uncertainty)
{
    public double Seconds => Skew.TotalSeconds;

    /// <summary>Beyond the bound for certain: the round trip cannot explain the difference.</summary>
    public bool Exceeds(TimeSpan max) => Skew.Duration() - Uncertainty > max;
}

/// <summary>Measures the instance's clock against the database's, sets <c>authservice_clock_skew_seconds</c>, and is
/// the readiness check that takes an instance with a wrong clock out of the load balancer (docs/SECURITY.md §7.10).</summary>
public sealed class ClockSkewCheck(NpgsqlDataSource dataSource, TimeProvider time, IOptions<HealthOptions> options, ClockAgreement agreement)
    : IHealthCheck
{
    public async Task<ClockReading> MeasureAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("select clock_timestamp()", connection);
        var before = time.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        var database = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
        var roundTrip = Stopwatch.GetElapsedTime(started); // real elapsed time, also under a test's fake clock
        var reading = new ClockReading(before + roundTrip / 2 - new DateTimeOffset(database, TimeSpan.Zero), roundTrip / 2);
        ServiceMetrics.ClockSkew.Set(reading.Seconds);
        var settings = options.Value;
        agreement.Record(settings.ClockSkewCheck && reading.Exceeds(settings.MaxClockSkew) ? Describe(reading, settings.MaxClockSkew) : null);
        return reading;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        if (!settings.ClockSkewCheck)
        {
            return HealthCheckResult.Healthy("Clock not compared (Health:ClockSkewCheck is off).");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            var reading = await MeasureAsync(timeout.Token);
            return reading.Exceeds(settings.MaxClockSkew)
                ? HealthCheckResult.Unhealthy(Describe(reading, settings.MaxClockSkew))
                : HealthCheckResult.Healthy($"Clock within {settings.MaxClockSkew} of the database's.");
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("Clock not compared: database unreachable.");
        }
    }

    public static string Describe(ClockReading reading, TimeSpan max) =>
        $"This instance's clock is {Math.Abs(reading.Seconds):0.0} s {(reading.Seconds > 0 ? "ahead of" : "behind")} the database's " +
        $"(more than Health:MaxClockSkew, {max}): rolling windows, expiries and TOTP steps would not be decided on one clock " +
        "for all instances. Fix the host's time synchronisation (NTP).";
}
