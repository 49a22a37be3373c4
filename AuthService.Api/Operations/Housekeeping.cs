using AuthService.Api.Storage;
using Dapper;
using Npgsql;

namespace AuthService.Api.Operations;

/// <summary>Prunes what only matters for a while: the delivery and failure ledgers and idempotency keys (24 h windows,
/// kept 2 days), expired pending enrollments, phone codes, the SMS sent under the SmsThenCall fallback and the failure reports that came before their SMS was remembered (kept 2 days), bypass codes and remembered devices. Every instance runs it; the deletes are idempotent, so
/// running it twice costs nothing but a query. The audit trail is never pruned here (retention is the operator's call).</summary>
public sealed class Housekeeping(NpgsqlDataSource dataSource, TimeProvider time, IConfiguration configuration, ILogger<Housekeeping> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Keep = TimeSpan.FromDays(2);

    /// <summary>Deletes rows that no rule can look at any more; returns how many.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        const string sql = """
            with d as (delete from deliveries where created_at < @before returning 1),
                 f as (delete from verification_failures where created_at < @before returning 1),
                 i as (delete from idempotency_keys where created_at < @before returning 1),
                 p as (delete from pending_factors where expires_at < @now returning 1),
                 c as (delete from phone_codes where expires_at < @now returning 1),
                 b as (delete from bypass_codes where expires_at < @now returning 1),
                 r as (delete from remembered_devices where expires_at < @now returning 1),
                 s as (delete from sms_deliveries where created_at < @before returning 1),
                 e as (delete from sms_early_reports where received_at < @before returning 1),
                 k as (delete from change_claims where lapses_at < @now returning 1)
            select (select count(*) from d) + (select count(*) from f) + (select count(*) from i)
                 + (select count(*) from p) + (select count(*) from c) + (select count(*) from b) + (select count(*) from r)
                 + (select count(*) from s) + (select count(*) from e) + (select count(*) from k)
            """;
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(sql, new { now, before = now - Keep }, cancellationToken: cancellationToken));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!configuration.GetValue("Database:Housekeeping", true))
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var pruned = await PruneAsync(stoppingToken);
                if (pruned > 0)
                {
                    logger.LogInformation("Housekeeping pruned {Rows} expired rows", pruned);
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                // The database is away; the next tick tries again. Requests answer 503 meanwhile.
                logger.LogWarning("Housekeeping skipped: {Reason}", e.Message);
            }
        }
    }
}
