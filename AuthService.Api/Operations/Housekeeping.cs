using AuthService.Api.Storage;
using Dapper;
using Npgsql;
using AuthService.Api.Observability;

namespace AuthService.Api.Operations;

/// <summary>Prunes what only matters for a while: the delivery and failure ledgers and idempotency keys (24 h windows,
/// kept 2 days), expired pending enrollments, phone codes, the SMS sent under the SmsThenCall fallback and the failure reports
/// that came before their SMS was remembered (kept 2 days), bypass codes, remembered devices, lapsed change claims, expired
/// passkey challenges and Number Lookup answers older than 30 days. Every instance runs it; the deletes are idempotent, so
/// running it twice costs nothing but a query per table. The audit trail is never pruned here (retention is the operator's
/// call).</summary>
public sealed class Housekeeping(NpgsqlDataSource dataSource, TimeProvider time, IConfiguration configuration, ClockAgreement clock,
    ILogger<Housekeeping> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Keep = TimeSpan.FromDays(2);

    /// <summary>Each table that is pruned, and when one of its rows is past use.</summary>
    internal static readonly (string Table, string Expired)[] Prunable =
    [
        ("deliveries", "created_at < @before"),
        ("verification_failures", "created_at < @before"),
        ("idempotency_keys", "created_at < @before"),
        ("pending_factors", "expires_at < @now"),
        ("phone_codes", "expires_at < @now"),
        ("bypass_codes", "expires_at < @now"),
        ("remembered_devices", "expires_at < @now"),
        ("sms_deliveries", "created_at < @before"),
        ("sms_early_reports", "received_at < @before"),
        ("change_claims", "lapses_at < @now"),
        ("passkey_challenges", "expires_at < @now"),
        ("number_lookups", "looked_up_at < @lookupsBefore"),
    ];

    /// <summary>At most this many rows go per statement, so that each stays well inside the command timeout however large a
    /// backlog has grown (after a long <c>Database:Housekeeping=false</c>, say), and one table's backlog does not hold back
    /// the others. Settable for tests.</summary>
    internal int RowsPerStatement { get; set; } = 5_000;

    /// <summary>Deletes rows that no rule can look at any more, table by table and a bounded number of rows per statement
    /// until none is left; returns how many.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        if (clock.Disagreement is { } skewed)
        {
            // Expiry is decided on this instance's clock: one running ahead would delete live codes, claims and challenges.
            logger.LogWarning("Housekeeping skipped: {Reason}", skewed);
            return 0;
        }

        var now = time.GetUtcNow();
        var parameters = new { now, before = now - Keep, lookupsBefore = now - NumberLookupStore.Retention, rows = RowsPerStatement };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var pruned = 0;
        foreach (var (table, expired) in Prunable)
        {
            // The condition is checked again on the row itself: a row updated since the inner select (a new ctid) is left.
            var sql = $"delete from {table} where ctid = any(array(select ctid from {table} where {expired} limit @rows)) and {expired}";
            int deleted;
            do
            {
                deleted = await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
                pruned += deleted;
            }
            while (deleted == RowsPerStatement);
        }

        return pruned;
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
