using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Operations;

public class HealthTests
{
    [Test]
    public async Task Live_and_ready_answer_without_a_key()
    {
        using var app = new AuthApp();
        using var client = app.CreateClient();
        Assert.That((await client.GetAsync("/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>The operator endpoints answer GET only, as documented; they answered any method with a health answer (POST 200).</summary>
    [TestCase("/health/live")]
    [TestCase("/health/ready")]
    [TestCase("/metrics")]
    public async Task Operator_endpoints_answer_get_only(string path)
    {
        using var app = new AuthApp();
        using var client = app.CreateClient();
        await ProblemAssert.IsProblemAsync(await client.PostAsync(path, null), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    /// <summary>An app on a database of its own (these tests break it for readiness), ready before the test breaks it.</summary>
    private static async Task<(string ConnectionString, AuthApp App, HttpClient Client)> ReadyOnADatabaseOfItsOwnAsync(string name)
    {
        var connectionString = TestDatabase.CreateDatabase(name);
        var app = new AuthApp(connectionString: connectionString);
        var client = app.CreateClient();
        Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return (connectionString, app, client);
    }

    [Test]
    public async Task Ready_turns_unready_when_a_migration_is_missing_while_live_stays_up()
    {
        var (connectionString, app, client) = await ReadyOnADatabaseOfItsOwnAsync("health");
        using var disposeApp = app;
        using var disposeClient = client;

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("delete from schema_migrations where version = (select max(version) from schema_migrations)", connection);
            await command.ExecuteNonQueryAsync();
        }

        Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((await client.GetAsync("/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>A database that accepts connections but stalls (here: the table readiness reads, locked by another session)
    /// makes the probe unready within its 2 s deadline: the deadline used to bound only the connection's opening, so each of
    /// its two queries ran into the 10 s command timeout and a load balancer's probe timed out instead of reading a 503.</summary>
    [Test]
    public async Task Ready_answers_unready_within_its_deadline_when_the_database_stalls()
    {
        var (connectionString, app, client) = await ReadyOnADatabaseOfItsOwnAsync("health_stall");
        using var disposeApp = app;
        using var disposeClient = client;

        await using var blocker = new NpgsqlConnection(connectionString);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("lock table schema_migrations in access exclusive mode", blocker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        var probe = System.Diagnostics.Stopwatch.StartNew();
        var ready = await client.GetAsync("/health/ready");
        probe.Stop();
        await transaction.RollbackAsync();

        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        // A deadline, not a speed: 2 s asked, 10 s without it; the bound leaves room for a loaded machine.
        Assert.That(probe.Elapsed, Is.LessThan(TimeSpan.FromSeconds(7)));
    }

    /// <summary>Every rolling window and expiry is decided on the instance's clock: an instance whose clock is more than
    /// Health:MaxClockSkew (2 s) off the database's is taken out of the load balancer, and the skew is a metric.
    /// The in-process apps run on a fake clock years off the database's, so AuthApp switches the check off; this test
    /// switches it on and sets the fake clock from the database's.</summary>
    // 10 s off, not 3: the fake clock stands still while the database's runs on, so the skew measured shrinks (ahead) or
    // grows (behind) by the real time between setting the clock and the check, which a loaded machine can stretch past 1 s.
    [TestCase(10)]
    [TestCase(-10)]
    public async Task Ready_fails_while_the_clock_is_more_than_two_seconds_off_the_databases(int seconds)
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Health:ClockSkewCheck"] = "true" });
        using var client = app.CreateClient();
        var offset = TimeSpan.FromSeconds(seconds);

        // A fake clock only moves forward: a clock ahead of the database's is checked after the clock in step, one behind before it.
        if (seconds > 0)
        {
            await AssertInStepAsync();
            await AssertOffAsync();
        }
        else
        {
            await AssertOffAsync();
            await AssertInStepAsync();
        }

        // The fake clock stands still while the database's runs on: a check that a loaded machine holds up for more than a
        // second after the clock was set is no longer in step by construction, so it is set again (at most twice).
        async Task AssertInStepAsync()
        {
            for (var attempt = 1; ; attempt++)
            {
                var elapsed = System.Diagnostics.Stopwatch.StartNew();
                app.Time.SetUtcNow(await DatabaseNowAsync(app.ConnectionString));
                var ready = await client.GetAsync("/health/ready");
                var body = await ready.Content.ReadAsStringAsync();
                var skew = await SkewMetricAsync(client);
                if (attempt < 3 && elapsed.Elapsed > TimeSpan.FromSeconds(1) && (ready.StatusCode != HttpStatusCode.OK || Math.Abs(skew) >= 1.0))
                {
                    continue;
                }

                Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
                Assert.That(body, Is.EqualTo("Healthy"));
                Assert.That(skew, Is.EqualTo(0).Within(1.0));
                return;
            }
        }

        async Task AssertOffAsync()
        {
            var elapsed = System.Diagnostics.Stopwatch.StartNew();
            app.Time.SetUtcNow(await DatabaseNowAsync(app.ConnectionString) + offset);
            var ready = await client.GetAsync("/health/ready");
            var body = await ready.Content.ReadAsStringAsync();
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
            Assert.That(body, Does.StartWith("Unhealthy").And.Contain("clock").And.Contain(seconds > 0 ? "ahead of" : "behind")
                .And.Contain("Health:MaxClockSkew"));
            var skew = await SkewMetricAsync(client);
            Assert.That(skew, Is.EqualTo(seconds).Within(0.5 + elapsed.Elapsed.TotalSeconds));
            Assert.That((await client.GetAsync("/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "liveness never depends on the clock");
        }
    }

    private static async Task<DateTimeOffset> DatabaseNowAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select clock_timestamp()", connection);
        return new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync())!, TimeSpan.Zero);
    }

    private static async Task<double> SkewMetricAsync(HttpClient client)
    {
        var metrics = await client.GetStringAsync("/metrics");
        var match = Regex.Match(metrics, @"^authservice_clock_skew_seconds (\S+)$", RegexOptions.Multiline);
        Assert.That(match.Success, Is.True, "authservice_clock_skew_seconds is exported");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
