using AuthService.Api.Events;
using AuthService.Api.Hosting;
using AuthService.Api.Operations;
using AuthService.Api.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AuthService.Tests.Operations;

/// <summary>docs/OPERATIONS.md "Upgrades" names the writes that wait while 0025 and 0026 build their index. A <c>create index</c>
/// takes SHARE on its table for the whole build, which every insert, update and delete of the table waits for, even one that
/// changes no row. Each test holds migration N's transaction open, as the runner does while the build runs, and runs one of
/// today's login-path statements with a short lock_timeout: refused with 55P03, it would wait for the whole build. A control
/// shows the same statements do not wait without the build.</summary>
public class IndexMigrationLockTests
{
    private static async Task<(string ConnectionString, NpgsqlConnection Holder, NpgsqlTransaction Build)> BuildingAsync(int migration)
    {
        if (TestDatabase.Pooler == "pgbouncer")
        {
            Assert.Ignore("direct connection needed");
        }

        var connectionString = TestDatabase.CreateDatabase($"mig_lock_{migration}");
        await using (var source = NpgsqlDataSource.Create(ServiceRegistration.TunedConnectionString(connectionString, Pooler.None)))
        {
            await new MigrationRunner(source, Pooler.None, NullLogger<MigrationRunner>.Instance).ApplyAsync(migration - 1);
        }

        var holder = new NpgsqlConnection(connectionString);
        await holder.OpenAsync();
        var build = await holder.BeginTransactionAsync();
        var sql = MigrationRunner.Migrations.Single(m => m.Version.StartsWith($"{migration:D4}_", StringComparison.Ordinal)).Sql;
        await using (var command = new NpgsqlCommand(sql, holder, build))
        {
            await command.ExecuteNonQueryAsync();
        }

        return (connectionString, holder, build);
    }

    /// <summary>Runs <paramref name="write"/> in a transaction of its own with lock_timeout 300 ms; the SQLSTATE it failed with, or null.</summary>
    private static async Task<string?> WriteAsync(string connectionString, Func<NpgsqlConnection, NpgsqlTransaction, Task> write)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var set = new NpgsqlCommand("set local lock_timeout = '300ms'", connection, transaction))
        {
            await set.ExecuteNonQueryAsync();
        }

        try
        {
            await write(connection, transaction);
            return null;
        }
        catch (PostgresException e)
        {
            return e.SqlState;
        }
    }

    /// <summary>0025: a login decision that presents a device token (TrustedDevices → DeviceStore.TouchByTokenHashAsync, an
    /// update of remembered_devices) waits — not only "remembering a device". So does any factor removal (0009's statement
    /// trigger on factors deletes from remembered_devices even when the user has no device).</summary>
    [Test]
    public async Task During_0025_a_login_decision_with_a_device_token_and_a_factor_removal_wait()
    {
        var (connectionString, holder, build) = await BuildingAsync(25);
        await using (holder)
        {
            var now = DateTimeOffset.UtcNow;
            var decision = await WriteAsync(connectionString, (c, t) =>
                DeviceStore.TouchByTokenHashAsync(c, t, "mig-user", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), now));
            var removal = await WriteAsync(connectionString, (c, t) =>
                TwoFactorStore.DeleteFactorAsync(c, t, "mig-user", Guid.NewGuid(), now));
            await build.RollbackAsync();
            Assert.Multiple(() =>
            {
                Assert.That(decision, Is.EqualTo("55P03"), "a login decision with a (here unknown) device token waits for 0025's build");
                Assert.That(removal, Is.EqualTo("55P03"), "a factor removal waits for 0025's build");
            });
        }
    }

    /// <summary>0026: the statement that accepts a TOTP login from a new device (the usual login: new_device_login is written on
    /// every verify without a device token) inserts into webhook_deliveries in the same statement as webhook_events, so it
    /// waits for 0026's build exactly as for 0027's — even with no endpoint subscribed at all (the statement runs regardless;
    /// its rows are filtered by the subscription match).</summary>
    [Test]
    public async Task During_0026_a_totp_login_from_a_new_device_waits_even_with_no_webhook_endpoint()
    {
        var (connectionString, holder, build) = await BuildingAsync(26);
        await using (holder)
        {
            var now = DateTimeOffset.UtcNow;
            var acceptance = new AttemptLedger.TotpAcceptance("mig-user", Guid.NewGuid(), 1, now, now.AddMinutes(-1), 5, null, "{}");
            var login = await WriteAsync(connectionString, async (c, t) =>
            {
                await using var batch = new NpgsqlBatch(c, t);
                batch.BatchCommands.Add(AttemptLedger.AcceptTotpStepCommand(acceptance, new AuditEvent.NewDeviceLogin("totp", acceptance.FactorId)));
                await batch.ExecuteNonQueryAsync();
            });
            var outbox = await WriteAsync(connectionString, (c, t) =>
                WebhookOutbox.AddAsync(c, t, WebhookEvents.FromAudit(new AuditEvent.NewDeviceLogin("totp"), "mig-user", null, now)));
            await build.RollbackAsync();
            Assert.Multiple(() =>
            {
                Assert.That(login, Is.EqualTo("55P03"), "the batched TOTP accept statement with new_device_login waits for 0026's build");
                Assert.That(outbox, Is.EqualTo("55P03"), "storing any webhook event waits for 0026's build");
            });
        }
    }

    /// <summary>Control: the same statements do not wait when nothing holds the tables (the refusals above are the builds').</summary>
    [Test]
    public async Task Control_without_a_build_nothing_waits()
    {
        var (connectionString, holder, build) = await BuildingAsync(27);
        await build.RollbackAsync();
        await using (holder)
        {
            var now = DateTimeOffset.UtcNow;
            var acceptance = new AttemptLedger.TotpAcceptance("mig-user", Guid.NewGuid(), 1, now, now.AddMinutes(-1), 5, null, "{}");
            Assert.That(await WriteAsync(connectionString, async (c, t) =>
            {
                await using var batch = new NpgsqlBatch(c, t);
                batch.BatchCommands.Add(AttemptLedger.AcceptTotpStepCommand(acceptance, new AuditEvent.NewDeviceLogin("totp", acceptance.FactorId)));
                await batch.ExecuteNonQueryAsync();
            }), Is.Null);
            Assert.That(await WriteAsync(connectionString, (c, t) =>
                DeviceStore.TouchByTokenHashAsync(c, t, "mig-user", new byte[32], now)), Is.Null);
        }
    }
}
