using Microsoft.Extensions.Options;

namespace AuthService.Api.Health;

/// <summary>Compares the clocks every <see cref="HealthOptions.ClockSamplePeriod"/> between readiness probes, so the
/// metric stays current, and logs when the skew goes beyond the bound and when it comes back.</summary>
public sealed class ClockSkewMonitor(ClockSkewCheck check, TimeProvider time, IOptions<HealthOptions> options,
    ILogger<ClockSkewMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.ClockSkewCheck)
        {
            return;
        }

        var exceeded = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var reading = await check.MeasureAsync(stoppingToken);
                if (reading.Exceeds(settings.MaxClockSkew) != exceeded)
                {
                    exceeded = !exceeded;
                    if (exceeded)
                    {
                        logger.LogError("Not ready: {Reason}", ClockSkewCheck.Describe(reading, settings.MaxClockSkew));
                    }
                    else
                    {
                        logger.LogInformation("Clock back within {MaxClockSkew} of the database's ({Seconds:0.000} s)",
                            settings.MaxClockSkew, reading.Seconds);
                    }
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The database check reports an outage; the next sample tries again. Never let a sample stop the host.
                logger.LogDebug("Clock not compared: {Error}", e.GetType().Name);
            }

            try
            {
                await Task.Delay(settings.ClockSamplePeriod, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
