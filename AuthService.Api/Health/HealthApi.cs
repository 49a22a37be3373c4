using AuthService.Api.Operations;
using AuthService.Api.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AuthService.Api.Health;

/// <summary>Liveness says the process serves requests (it never touches the database, so an outage does not
/// get instances restarted); readiness says the database answers and every migration is applied.</summary>
public static class HealthApi
{
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseReadyCheck>("database", tags: ["ready"]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health/live", new() { Predicate = _ => false }).ExcludeFromDescription();
        routes.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains("ready") }).ExcludeFromDescription();
        return routes;
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
