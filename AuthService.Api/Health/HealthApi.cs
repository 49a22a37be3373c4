using AuthService.Api.Operations;
using AuthService.Api.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using AuthService.Api.Observability;

namespace AuthService.Api.Health;

/// <summary>Liveness says the process serves requests (it never touches the database, so an outage does not
/// get instances restarted); readiness says the database answers, every migration is applied and this instance's clock
/// is within <c>Health:MaxClockSkew</c> of the database's.</summary>
public static class HealthApi
{
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddOptions<HealthOptions>().BindConfiguration("Health")
            .Validate(o => o.Validate(), "Health: MaxClockSkew must be > 0 and ClockSamplePeriod from 1 s to 1 day.")
            .ValidateOnStart();
        services.TryAddSingleton<ClockAgreement>();
        services.AddSingleton<ClockSkewCheck>();
        services.AddHostedService<ClockSkewMonitor>();
        services.AddHealthChecks()
            .AddCheck<DatabaseReadyCheck>("database", tags: ["ready"])
            .AddCheck<ClockSkewCheck>("clock", tags: ["ready"]);
        return services;
    }

    /// <summary>The methods the health endpoints answer.</summary>
    private static readonly HttpMethodMetadata ReadOnly = new([HttpMethods.Get]);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        // GET only, as the contract says (and as every GET route of the API): any other method is a 405 problem, not a health answer.
        routes.MapHealthChecks("/health/live", new() { Predicate = _ => false }).WithMetadata(ReadOnly).ExcludeFromDescription();
        routes.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteReasonAsync })
            .WithMetadata(ReadOnly)
            .ExcludeFromDescription();
        return routes;
    }

    /// <summary><c>Healthy</c>, or <c>Unhealthy: </c> and why (text/plain), so an operator reading the probe sees the
    /// cause (the database, a migration, the clock) without the logs.</summary>
    private static Task WriteReasonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var reasons = report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy).Select(e => e.Description).ToList();
        return context.Response.WriteAsync(reasons.Count == 0
            ? report.Status.ToString()
            : $"{report.Status}: {string.Join(" ", reasons)}");
    }

    private sealed class DatabaseReadyCheck(MigrationRunner migrations) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                return await migrations.IsUpToDateAsync(timeout.Token)
                    ? HealthCheckResult.Healthy("Database reachable, migrations applied.")
                    : HealthCheckResult.Unhealthy("Migrations not applied.");
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("Database unreachable.");
            }
        }
    }
}
