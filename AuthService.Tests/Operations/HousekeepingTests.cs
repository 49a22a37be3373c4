using AuthService.Api.Operations;
using System.Net.Http.Json;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using AuthService.Api.Observability;
using AuthService.Api.Webhooks;
using Dapper;

namespace AuthService.Tests.Operations;

public class HousekeepingTests
{
    private static async Task<long> CountAsync(string connectionString, string sql, string userId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("u", userId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Tables small by construction, which housekeeping may read whole: a phone code and a pending change per user and
    /// purpose, a change claim per user (lapses in a minute), passkey challenges (5 minutes), bypass codes (a few per user, at
    /// most 3 days).</summary>
    private static readonly string[] SmallByConstruction = ["pending_factors", "phone_codes", "bypass_codes", "change_claims", "passkey_challenges"];

    /// <summary>Every 10 minutes on every instance, housekeeping looks for each table's expired rows by one column: an index must
    /// lead with it, else each pass reads the whole table (it did for the failure ledger, idempotency keys and remembered devices
    /// until migrations 0023–0025). A table added to housekeeping without one fails here.</summary>
    [Test]
    public async Task Every_large_pruned_table_has_an_index_on_the_column_it_is_pruned_by()
    {
        using var app = new AuthApp();
        using var migrated = app.AdminClient(); // the app has started, so every migration is applied
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        var unindexed = new List<string>();
        foreach (var (table, expired) in Housekeeping.Prunable.Where(p => !SmallByConstruction.Contains(p.Table)))
        {
            var column = expired.Split(' ')[0];
            await using var command = new NpgsqlCommand("""
                select exists (
                    select 1 from pg_index i
                    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                    where i.indrelid = @table::regclass and a.attname = @column)
                """, connection);
            command.Parameters.AddWithValue("table", table);
            command.Parameters.AddWithValue("column", column);
            if (!(bool)(await command.ExecuteScalarAsync())!)
            {
                unindexed.Add($"{table}.{column}");
            }
        }

        Assert.That(unindexed, Is.Empty);
        Assert.That(Housekeeping.Prunable.Select(p => p.Table), Is.SupersetOf(SmallByConstruction), "every exception is pruned");
    }

    /// <summary>A prune statement deletes at most the rows it is given, whatever plan PostgreSQL picks. Written as
    /// <c>id in (select … limit @rows for update skip locked)</c>, a nested loop that rescans the subquery for each row of the
    /// table (the plan the webhook tables got late in a test run) deleted all 8 old rows where 1 was asked for: on each rescan
    /// <c>skip locked</c> passed over the rows the statement had just deleted and handed on the next ones. Here every other
    /// plan is priced out, so the rescanning one is what runs.</summary>
    [Test]
    public async Task A_webhook_prune_statement_deletes_at_most_its_rows_under_a_rescanning_plan()
    {
        using var app = new AuthApp();
        using var migrated = app.AdminClient();
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var old = DateTimeOffset.UtcNow.AddDays(-30);
        var endpoint = Guid.NewGuid();
        await connection.ExecuteAsync("""
            insert into webhook_endpoints (id, url, events, secret, created_at, deleted_at) values (@endpoint, 'https://example.com/h', '{*}', '\x00', @old, null);
            insert into webhook_events (id, type, user_id, body, created_at)
                select gen_random_uuid(), 'two_factor.enabled', 'prune-' || g, '{}', @old from generate_series(1, 8) g;
            insert into webhook_deliveries (event_id, endpoint_id, order_key, status, next_attempt_at, created_at)
                select id, @endpoint, user_id, 'delivered', @old, @old from webhook_events where user_id like 'prune-%';
            insert into webhook_endpoints (id, url, events, secret, created_at, deleted_at)
                select gen_random_uuid(), 'https://example.com/d', '{*}', '\x00', @old, @old from generate_series(1, 8);
            set local enable_hashjoin = off; set local enable_mergejoin = off; set local enable_hashagg = off;
            set local enable_sort = off; set local enable_material = off; set local enable_bitmapscan = off;
            """, new { endpoint, old }, transaction);

        var before = DateTimeOffset.UtcNow;
        var deliveries = await connection.ExecuteAsync(WebhookQueue.PruneDeliveriesSql, new { before, rows = 1 }, transaction);
        await connection.ExecuteAsync("delete from webhook_deliveries where order_key like 'prune-%'", transaction: transaction);
        var events = await connection.ExecuteAsync(WebhookQueue.PruneEventsSql, new { before, rows = 1 }, transaction);
        var endpoints = await WebhookStore.RemoveDeletedEndpointsAsync(connection, transaction, null, 1);
        await transaction.RollbackAsync();
        Assert.That((deliveries, events, endpoints), Is.EqualTo((1, 1, 1)), "deliveries, events and endpoints deleted by one statement each");
    }

    /// <summary>The webhook dispatcher prunes too, every 10 minutes on every instance: delivered and failed deliveries and the
    /// events nothing waits for, past <c>Webhooks:Retention</c> (a week of them). Each pass read both tables whole until
    /// migrations 0026–0027. With sequential scans priced out (the test's tables are small), each statement finds its rows by
    /// the index on the column it prunes by.</summary>
    [Test]
    public async Task The_webhook_prune_finds_its_rows_by_index()
    {
        using var app = new AuthApp();
        using var migrated = app.AdminClient(); // the app has started, so every migration is applied
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var off = new NpgsqlCommand("set local enable_seqscan = off", connection, transaction))
        {
            await off.ExecuteNonQueryAsync();
        }

        foreach (var (sql, index) in new[] { (WebhookQueue.PruneDeliveriesSql, "webhook_deliveries_finished"), (WebhookQueue.PruneEventsSql, "webhook_events_created") })
        {
            await using var explain = new NpgsqlCommand("explain " + sql, connection, transaction);
            explain.Parameters.AddWithValue("before", DateTimeOffset.UtcNow);
            explain.Parameters.AddWithValue("rows", 5_000);
            var plan = new List<string>();
            await using (var reader = await explain.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    plan.Add(reader.GetString(0));
                }
            }

            Assert.That(string.Join("\n", plan), Does.Contain($" on {index} "), string.Join("\n", plan));
        }
    }

    [Test]
    public async Task Ledgers_are_pruned_only_after_they_can_no_longer_count()
    {
        using var telnyx = new TelnyxStandIn();
        using var app = new AuthApp(telnyx.Settings, TestDatabase.CreateDatabase("housekeeping"));
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId("hk");
        (await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = "+13035550188", channel = "sms" }))
            .EnsureSuccessStatusCode();
        var wrong = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = "000000" });
        Assert.That(wrong.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.UnprocessableEntity), "a failed confirmation: one failure row");
        var housekeeping = app.Services.GetRequiredService<Housekeeping>();
        const string deliveries = "select count(*) from deliveries where user_id = @u";
        const string failures = "select count(*) from verification_failures where user_id = @u";
        const string earlyReports = "select count(*) from sms_early_reports where message_id = @u";
        await using (var connection = new NpgsqlConnection(app.ConnectionString))
        {
            // A failure report for a message no send ever remembered (not this service's): only pruned.
            await connection.OpenAsync();
            await using var early = new NpgsqlCommand("insert into sms_early_reports values (@u, 'sending_failed', @now)", connection);
            early.Parameters.AddWithValue("u", userId);
            early.Parameters.AddWithValue("now", app.Time.GetUtcNow());
            await early.ExecuteNonQueryAsync();
        }

        // AuthApp turns the service's own timer off (Database:Housekeeping): only these PruneAsync calls prune.
        app.Time.Advance(TimeSpan.FromDays(1));
        await housekeeping.PruneAsync(default);
        Assert.That(await CountAsync(app.ConnectionString, "select count(*) from pending_factors where user_id = @u", userId), Is.Zero);
        Assert.That(await CountAsync(app.ConnectionString, "select count(*) from phone_codes where user_id = @u", userId), Is.Zero);
        Assert.That(await CountAsync(app.ConnectionString, deliveries, userId), Is.EqualTo(1), "still inside the 2-day keep");
        Assert.That(await CountAsync(app.ConnectionString, failures, userId), Is.EqualTo(1));
        Assert.That(await CountAsync(app.ConnectionString, earlyReports, userId), Is.EqualTo(1));

        app.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        await housekeeping.PruneAsync(default);
        Assert.That(await CountAsync(app.ConnectionString, deliveries, userId), Is.Zero);
        Assert.That(await CountAsync(app.ConnectionString, failures, userId), Is.Zero);
        Assert.That(await CountAsync(app.ConnectionString, earlyReports, userId), Is.Zero);
        Assert.That(await CountAsync(app.ConnectionString, "select count(*) from audit_events where user_id = @u", userId), Is.GreaterThan(0),
            "the audit trail is never pruned");
    }

    /// <summary>A backlog (after a long <c>Database:Housekeeping=false</c>, say) goes in statements of a bounded size, each
    /// well inside the command timeout, all in one pass; rows still in use stay.</summary>
    [Test]
    public async Task A_backlog_larger_than_one_statement_is_pruned_in_one_pass_and_rows_in_use_stay()
    {
        using var app = new AuthApp(connectionString: TestDatabase.CreateDatabase("housekeeping_backlog"));
        var housekeeping = app.Services.GetRequiredService<Housekeeping>(); // starts the host: the migrations have run
        housekeeping.RowsPerStatement = 10;
        var now = app.Time.GetUtcNow();
        await using (var connection = new NpgsqlConnection(app.ConnectionString))
        {
            await connection.OpenAsync();
            await using var claims = new NpgsqlCommand("""
                insert into change_claims (user_id, claim_id, lapses_at)
                select 'hk-backlog-' || i, gen_random_uuid(), case when i <= 25 then @now - interval '1 minute' else @now + interval '1 minute' end
                from generate_series(1, 28) i
                """, connection);
            claims.Parameters.AddWithValue("now", now);
            await claims.ExecuteNonQueryAsync();
        }

        var pruned = await housekeeping.PruneAsync(default);

        Assert.Multiple(async () =>
        {
            Assert.That(pruned, Is.EqualTo(25), "every lapsed claim, in three statements of at most 10");
            Assert.That(await CountAsync(app.ConnectionString, "select count(*) from change_claims where user_id like @u", "hk-backlog-%"),
                Is.EqualTo(3), "the claims still held stay");
        });
    }

    /// <summary>Readiness takes an instance whose clock disagrees with the database's out of the load balancer, but housekeeping
    /// ran on: with its clock ahead it deleted the live codes, claims and challenges of every instance's users. Here the
    /// instance's clock (the test's fake one) is months off the database's, and a claim has lapsed by the instance's clock.
    /// (The fake clock is not moved: that would wake the clock monitor, whose own comparison could race the test's.)</summary>
    [Test]
    public async Task An_instance_whose_clock_disagrees_with_the_databases_prunes_nothing()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Health:ClockSkewCheck"] = "true" },
            TestDatabase.CreateDatabase("housekeeping_skew"));
        var housekeeping = app.Services.GetRequiredService<Housekeeping>();
        await using (var connection = new NpgsqlConnection(app.ConnectionString))
        {
            await connection.OpenAsync();
            await using var claim = new NpgsqlCommand(
                "insert into change_claims (user_id, claim_id, lapses_at) values ('hk-skew', gen_random_uuid(), @lapsed)", connection);
            claim.Parameters.AddWithValue("lapsed", app.Time.GetUtcNow() - TimeSpan.FromMinutes(1));
            await claim.ExecuteNonQueryAsync();
        }

        using var probe = app.CreateClient();
        Assert.That((await probe.GetAsync("/health/ready")).StatusCode, Is.EqualTo(System.Net.HttpStatusCode.ServiceUnavailable),
            "the readiness check compares the clocks and records the disagreement");
        Assert.That(await housekeeping.PruneAsync(default), Is.Zero);
        Assert.That(await CountAsync(app.ConnectionString, "select count(*) from change_claims where user_id = @u", "hk-skew"), Is.EqualTo(1));

        // The same prune once the clock is trusted again deletes the claim: the skip is what kept it.
        app.Services.GetRequiredService<ClockAgreement>().Record(null);
        Assert.That(await housekeeping.PruneAsync(default), Is.GreaterThanOrEqualTo(1));
        Assert.That(await CountAsync(app.ConnectionString, "select count(*) from change_claims where user_id = @u", "hk-skew"), Is.Zero);
    }
}
