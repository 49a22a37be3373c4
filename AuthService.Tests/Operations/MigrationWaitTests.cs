using AuthService.Api.Hosting;
using AuthService.Api.Operations;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Telephony;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AuthService.Tests.Operations;

/// <summary>An instance that starts while another one migrates waits for the migration lock as long as that takes, not
/// only as long as the connection's command timeout: a migration that rewrites a large table may run for minutes, and
/// the starting instance used to give up after the timeout with "Database unreachable". The test sets
/// <c>Command Timeout=1</c> and holds the lock for longer than that (a real database lock, so a real wait); the start asks
/// for the lock once a second, each ask under that timeout.</summary>
public class MigrationWaitTests
{
    /// <summary>An empty database of its own, and the lock mode under test (the session-lock mode needs a direct connection).</summary>
    private static (string ConnectionString, Pooler Pooler) Database(bool pgBouncer, string prefix)
    {
        if (!pgBouncer && TestDatabase.Pooler == "pgbouncer")
        {
            Assert.Ignore("the session-lock mode needs a direct connection");
        }

        return (TestDatabase.CreateDatabase(prefix), pgBouncer ? Pooler.PgBouncer : Pooler.None);
    }

    /// <summary>Opens <paramref name="writer"/> and holds <c>factors</c> as any insert, update or delete of it does until it
    /// commits (migration 0015 puts a trigger on it); the transaction that holds it.</summary>
    private static async Task<NpgsqlTransaction> HoldFactorsAsync(NpgsqlConnection writer)
    {
        await writer.OpenAsync();
        var writing = await writer.BeginTransactionAsync();
        await using var hold = new NpgsqlCommand("lock table factors in row exclusive mode", writer, writing);
        await hold.ExecuteNonQueryAsync();
        return writing;
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_start_waits_for_another_instances_migration_longer_than_the_command_timeout(bool pgBouncer)
    {
        var (connectionString, pooler) = Database(pgBouncer, "migrate_wait");
        await using var source = NpgsqlDataSource.Create(
            ServiceRegistration.TunedConnectionString(connectionString + ";Command Timeout=1", pooler));
        using var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var runner = new MigrationRunner(source, pooler, factory.CreateLogger<MigrationRunner>());

        await using var holder = new NpgsqlConnection(connectionString);
        await holder.OpenAsync();
        var other = await holder.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("select pg_advisory_xact_lock(@key)", holder, other))
        {
            take.Parameters.AddWithValue("key", MigrationRunner.AdvisoryLockKey);
            await take.ExecuteNonQueryAsync();
        }

        var start = runner.ApplyAsync();
        await logs.WaitForAsync(e => e.Message.Contains("holds the migration lock", StringComparison.Ordinal));
        await Task.WhenAny(start, Task.Delay(TimeSpan.FromSeconds(2.5))); // past the 1 s command timeout, on a real lock
        Assert.That(start.IsCompleted, Is.False, $"the start gave up while the lock was held: {start.Exception?.GetBaseException().Message}");

        await other.RollbackAsync();
        var applied = await start;

        Assert.Multiple(() =>
        {
            Assert.That(applied, Is.EqualTo(MigrationRunner.Migrations.Count));
            Assert.That(logs.Entries.Count(e => e.Message.Contains("holds the migration lock", StringComparison.Ordinal)), Is.EqualTo(1),
                "the wait is said once");
        });
    }

    /// <summary>A migration runs without a command timeout, but not without a lock timeout: one that cannot have its table (here
    /// migration 0015's trigger on <c>factors</c>, while a writer's transaction holds the table) gives up after
    /// <see cref="MigrationRunner.LockAttempts"/> tries of <see cref="MigrationRunner.LockTimeout"/> with one clear line and
    /// applies nothing of itself. Waiting on, it would queue every request of the running instances that touches the table
    /// behind its own lock request for as long as that transaction lasts. Once the writer is gone, the next start applies the
    /// rest.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task A_migration_that_cannot_lock_its_table_ends_the_start_instead_of_queueing_the_service_behind_it(bool pgBouncer)
    {
        var (connectionString, pooler) = Database(pgBouncer, "migrate_locked");
        await using var source = NpgsqlDataSource.Create(ServiceRegistration.TunedConnectionString(connectionString, pooler));
        var runner = new MigrationRunner(source, pooler, Microsoft.Extensions.Logging.Abstractions.NullLogger<MigrationRunner>.Instance)
        {
            LockTimeout = TimeSpan.FromSeconds(1),
            LockAttempts = 2,
        };
        const int before = 14;
        await runner.ApplyAsync(before);

        await using var writer = new NpgsqlConnection(connectionString);
        var writing = await HoldFactorsAsync(writer);

        var start = runner.ApplyAsync();
        var ended = await Task.WhenAny(start, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.That(ended, Is.SameAs(start), "the migration still waits for the table");
        var refused = await Assert.ThrowsAsync<AuthService.Api.Configuration.StartupException>(async () => await start);
        Assert.That(refused!.Message, Does.Contain("another session holds locked"));

        await writing.RollbackAsync();
        Assert.That(await runner.ApplyAsync(), Is.EqualTo(MigrationRunner.Migrations.Count - before), "nothing of 0015 was applied");
    }

    /// <summary>A table held for a while is not the end of the start: the migration waits <see cref="MigrationRunner.LockTimeout"/>
    /// at a time (holding up the running instances' requests for that table no longer than that), rolls back, says so, and asks
    /// again; once the writer commits, it applies, exactly once.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task A_migration_whose_table_is_held_tries_again_and_applies_once_it_is_free(bool pgBouncer)
    {
        var (connectionString, pooler) = Database(pgBouncer, "migrate_retry");
        await using var source = NpgsqlDataSource.Create(ServiceRegistration.TunedConnectionString(connectionString, pooler));
        using var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var runner = new MigrationRunner(source, pooler, factory.CreateLogger<MigrationRunner>())
        {
            LockTimeout = TimeSpan.FromMilliseconds(200),
            LockAttempts = 200,
        };
        const int before = 14;
        await runner.ApplyAsync(before);

        await using var writer = new NpgsqlConnection(connectionString);
        var writing = await HoldFactorsAsync(writer);

        var start = runner.ApplyAsync();
        await logs.WaitForAsync(e => e.Message.Contains("trying again", StringComparison.Ordinal));
        Assert.That(start.IsCompleted, Is.False, "it waits on, a try at a time");
        await writing.CommitAsync();

        Assert.That(await start, Is.EqualTo(MigrationRunner.Migrations.Count - before));
        Assert.That(await runner.ApplyAsync(), Is.Zero, "each applied once");
    }
}
