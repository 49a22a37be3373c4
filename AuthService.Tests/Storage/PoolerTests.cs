using AuthService.Api.Operations;
using AuthService.Api.Hosting;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary><c>Database:Pooler=pgbouncer</c>: what it turns off, what it refuses at start, and migrations that N
/// instances can run together without a session-level lock (which PgBouncer's transaction pooling would strand on
/// some server connection). <c>make test-pgbouncer</c> runs the whole suite, these included, through PgBouncer.</summary>
public class PoolerTests
{
    private static IConfiguration Config(string? pooler) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Database:Pooler"] = pooler }).Build();

    [TestCase(null, false)]
    [TestCase("", false)]
    [TestCase("none", false)]
    [TestCase("PgBouncer", true)]
    public void Pooler_values(string? value, bool pgBouncer) =>
        Assert.That(Pooler.From(Config(value), "Host=db").IsPgBouncer, Is.EqualTo(pgBouncer));

    [TestCase("pgpool")]
    [TestCase("transaction")]
    public void Unknown_pooler_is_refused(string value) =>
        Assert.That(() => Pooler.From(Config(value), "Host=db"),
            Throws.InvalidOperationException.With.Message.Contain("Database:Pooler must be `none` or `pgbouncer`"));

    [Test]
    public void Server_side_prepared_statements_are_refused_behind_pgbouncer() =>
        Assert.That(() => Pooler.From(Config("pgbouncer"), "Host=db;Max Auto Prepare=20"),
            Throws.InvalidOperationException.With.Message.Contain("Max Auto Prepare"));

    [Test]
    public void Behind_pgbouncer_nothing_is_auto_prepared_and_the_other_defaults_stay()
    {
        var tuned = new NpgsqlConnectionStringBuilder(ServiceRegistration.TunedConnectionString("Host=db", Pooler.PgBouncer));
        var direct = new NpgsqlConnectionStringBuilder(ServiceRegistration.TunedConnectionString("Host=db", Pooler.None));

        Assert.Multiple(() =>
        {
            Assert.That(tuned.MaxAutoPrepare, Is.Zero);
            Assert.That(tuned.NoResetOnClose, Is.True);
            Assert.That(tuned.Timeout, Is.EqualTo(5));
            Assert.That(direct.MaxAutoPrepare, Is.EqualTo(64));
        });
    }

    /// <summary>Four instances start together on an empty database: every migration is applied exactly once and no
    /// advisory lock is left on any session afterwards. The direct mode (session lock) only runs on a direct
    /// connection: through PgBouncer it is exactly what the pgbouncer mode exists to avoid.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task Concurrent_starts_apply_each_migration_once_and_leave_no_lock(bool pgBouncer)
    {
        if (!pgBouncer && TestDatabase.Pooler == "pgbouncer")
        {
            Assert.Ignore("the session-lock mode needs a direct connection");
        }

        var connectionString = TestDatabase.CreateDatabase("migrate_race");
        var pooler = pgBouncer ? Pooler.PgBouncer : Pooler.None;
        var sources = Enumerable.Range(0, 4)
            .Select(_ => NpgsqlDataSource.Create(ServiceRegistration.TunedConnectionString(connectionString, pooler))).ToList();
        try
        {
            var applied = await Race.RunAsync(sources.Count,
                i => new MigrationRunner(sources[i], pooler, NullLogger<MigrationRunner>.Instance).ApplyAsync());

            await using var check = new NpgsqlConnection(connectionString);
            await check.OpenAsync();
            await using var versions = new NpgsqlCommand("select count(*), count(distinct version) from schema_migrations", check);
            await using var reader = await versions.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (rows, distinct) = (reader.GetInt64(0), reader.GetInt64(1));
            await reader.CloseAsync();
            await using var locks = new NpgsqlCommand(
                "select count(*) from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())", check);

            var leftLocks = (long)(await locks.ExecuteScalarAsync())!;
            Assert.Multiple(() =>
            {
                Assert.That(applied.Sum(), Is.EqualTo(MigrationRunner.Migrations.Count), "applied once in total");
                Assert.That(rows, Is.EqualTo(MigrationRunner.Migrations.Count));
                Assert.That(distinct, Is.EqualTo(rows));
                Assert.That(leftLocks, Is.Zero, "an advisory lock outlived the migrations");
            });
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }
    }
}
