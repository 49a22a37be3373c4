using AuthService.Api.Hosting;
using AuthService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>The service's Npgsql pool settings: defaults it adds, values an operator sets that it keeps, and the
/// guarantee that makes skipping Npgsql's reset on close safe (no session state is left on a pooled connection).</summary>
public class ConnectionSettingsTests
{
    [Test]
    public void Defaults_are_added_to_a_bare_connection_string()
    {
        var tuned = new NpgsqlConnectionStringBuilder(ServiceRegistration.TunedConnectionString("Host=db;Database=auth;Username=a"));

        Assert.Multiple(() =>
        {
            Assert.That(tuned.Timeout, Is.EqualTo(5));
            Assert.That(tuned.CommandTimeout, Is.EqualTo(10));
            Assert.That(tuned.MaxAutoPrepare, Is.EqualTo(64));
            Assert.That(tuned.AutoPrepareMinUsages, Is.EqualTo(2));
            Assert.That(tuned.NoResetOnClose, Is.True);
            Assert.That(tuned.CancellationTimeout, Is.EqualTo(-1), "a timed-out command breaks its connection (SynchronousStandbyTests)");
            Assert.That(tuned.Host, Is.EqualTo("db"));
        });
    }

    [TestCase("Command Timeout=3")]
    [TestCase("CommandTimeout=3")]
    public void Setting_only_the_command_timeout_still_gets_the_connect_timeout_default(string setting)
    {
        var tuned = new NpgsqlConnectionStringBuilder(ServiceRegistration.TunedConnectionString($"Host=db;{setting}"));

        Assert.That(tuned.CommandTimeout, Is.EqualTo(3));
        Assert.That(tuned.Timeout, Is.EqualTo(5));
    }

    [Test]
    public void Values_the_operator_sets_are_kept()
    {
        var tuned = new NpgsqlConnectionStringBuilder(ServiceRegistration.TunedConnectionString(
            "Host=db;Timeout=30;Command Timeout=60;Max Auto Prepare=0;No Reset On Close=false"));

        Assert.Multiple(() =>
        {
            Assert.That(tuned.Timeout, Is.EqualTo(30));
            Assert.That(tuned.CommandTimeout, Is.EqualTo(60));
            Assert.That(tuned.MaxAutoPrepare, Is.EqualTo(0));
            Assert.That(tuned.NoResetOnClose, Is.False);
        });
    }

    [Test]
    public async Task Pooled_connections_hold_no_advisory_lock_or_setting_after_migrations_and_a_login()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        var user = await Flows.EnableTotpAsync(app, client);
        (await Flows.VerifyAsync(client, user.UserId, new { code = Flows.Code(user.Secret, app.Time.GetUtcNow()) })).EnsureSuccessStatusCode();
        (await Flows.VerifyAsync(client, user.UserId, new { code = "000000" })).Dispose(); // the locked path

        // Take every idle connection of the service's pool at once (so the ones that ran migrations and the
        // logins are among them) and ask PostgreSQL what each session still holds.
        var dataSource = app.Services.GetRequiredService<NpgsqlDataSource>();
        var connections = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                connections.Add(await dataSource.OpenConnectionAsync());
            }

            foreach (var connection in connections)
            {
                await using var command = new NpgsqlCommand(
                    "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()", connection);
                Assert.That((long)(await command.ExecuteScalarAsync())!, Is.Zero, "a session-level lock survived on a pooled connection");
                await using var setting = new NpgsqlCommand("select current_setting('plan_cache_mode')", connection);
                Assert.That(await setting.ExecuteScalarAsync(), Is.EqualTo("auto"), "a batch's SET LOCAL outlived its transaction");
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }
}
