using AuthService.Api.Storage;
using System.Reflection;
using Dapper;
using Npgsql;

namespace AuthService.Api.Operations;

/// <summary>Applies the embedded, ordered <c>Migrations/NNNN_name.sql</c> scripts once each, recording them in
/// <c>schema_migrations</c>. An advisory lock makes concurrent starts of several instances safe: a session lock held
/// across the whole run on a direct connection; behind PgBouncer (transaction pooling, where a session lock would stay
/// on whichever server connection ran it) a transaction-scoped lock taken again by each step.
/// <para>Timeouts. An instance that starts while another migrates waits for the migration lock as long as that takes, asking
/// for it once a second (each ask under the usual command timeout), instead of giving up with "Database unreachable". A
/// migration's own statements run without a command timeout (rewriting a large table may take minutes), but with
/// <see cref="LockTimeout"/> on the table locks they take. A lock request that waits queues every later request for that table
/// behind it, the running instances' included, so it waits only that long (1 s) at a time: the migration is rolled back, the
/// queued requests go on, and it tries again a second later, up to <see cref="LockAttempts"/> times. One that never gets its
/// table (a long transaction or a backup holds it) fails the start with PostgreSQL's <c>55P03</c> and applies nothing of
/// itself.</para></summary>
public sealed class MigrationRunner(NpgsqlDataSource dataSource, Pooler pooler, ILogger<MigrationRunner> logger)
{
    internal const long AdvisoryLockKey = 0x2FA_5E_4C1CE;

    /// <summary>Npgsql's "no command timeout".</summary>
    private const int NoTimeout = 0;

    private static readonly TimeSpan LockPoll = TimeSpan.FromSeconds(1);

    /// <summary>How long a migration waits for a table lock at a time (<c>lock_timeout</c>): the longest it holds up the running
    /// instances' requests for that table. Settable for tests.</summary>
    internal TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times a migration asks for its table locks (<see cref="LockTimeout"/> each, a second apart) before the
    /// start gives up. Settable for tests.</summary>
    internal int LockAttempts { get; init; } = 15;

    private const string CreateTable = """
        create table if not exists schema_migrations (
            version    text        primary key,
            applied_at timestamptz not null default now()
        )
        """;

    public static IReadOnlyList<(string Version, string Sql)> Migrations { get; } = LoadMigrations();

    public Task<int> ApplyAsync(CancellationToken cancellationToken = default) => ApplyAsync(null, cancellationToken);

    /// <summary>Applies the migrations numbered up to <paramref name="upTo"/> (7: <c>0001</c>–<c>0007</c>), exactly as a release
    /// that shipped only those would have, recorded the same way; null applies them all. The upgrade test builds a database
    /// as an earlier release left it with this, then lets the service migrate it to the latest.</summary>
    public async Task<int> ApplyAsync(int? upTo, CancellationToken cancellationToken = default)
    {
        var migrations = upTo is { } last ? Migrations.Where(m => Number(m.Version) <= last).ToList() : Migrations;
        try
        {
            return await (pooler.IsPgBouncer
                ? ApplyInTransactionsAsync(migrations, cancellationToken)
                : ApplyUnderSessionLockAsync(migrations, cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            throw new Configuration.StartupException(
                $"A migration asked {LockAttempts} times, {LockTimeout.TotalSeconds:0.#} s each, for a table that another session holds locked " +
                "(a long transaction or a backup?) and gave up; nothing of it was applied. Start again once that session has ended.");
        }
    }

    /// <summary>The number of a migration: the leading digits of <c>NNNN_name</c>.</summary>
    private static int Number(string version) => int.Parse(version.AsSpan(0, version.IndexOf('_', StringComparison.Ordinal)),
        System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Each step is one transaction that first takes the lock, then decides from what is committed by then,
    /// so N instances starting together apply every migration exactly once.</summary>
    private async Task<int> ApplyInTransactionsAsync(IReadOnlyList<(string Version, string Sql)> migrations, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await LockAsync(connection, transaction, cancellationToken);
            await connection.ExecuteAsync(CreateTable, transaction: transaction);
            await transaction.CommitAsync(cancellationToken);
        }

        var count = 0;
        foreach (var (version, sql) in migrations)
        {
            count += await WithLockRetriesAsync(version, async () =>
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await LockAsync(connection, transaction, cancellationToken);
                if (await connection.ExecuteScalarAsync<bool>(
                        "select exists(select 1 from schema_migrations where version = @version)", new { version }, transaction))
                {
                    return 0;
                }

                await ApplyAsync(connection, transaction, version, sql, cancellationToken);
                return 1;
            }, cancellationToken);
        }

        return count;
    }

    /// <summary>One migration and its record, committed together.</summary>
    private async Task ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string version, string sql,
        CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync($"set local lock_timeout = '{(int)LockTimeout.TotalMilliseconds}ms'", transaction: transaction);
        await connection.ExecuteAsync(new CommandDefinition(sql, null, transaction, NoTimeout, cancellationToken: cancellationToken));
        await connection.ExecuteAsync("insert into schema_migrations (version) values (@version)", new { version }, transaction);
        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Applied migration {Version}", version);
    }

    private async Task<int> ApplyUnderSessionLockAsync(IReadOnlyList<(string Version, string Sql)> migrations, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await LockAsync(connection, null, cancellationToken);
        try
        {
            await connection.ExecuteAsync(CreateTable);
            var applied = (await connection.QueryAsync<string>("select version from schema_migrations")).ToHashSet();
            var count = 0;
            foreach (var (version, sql) in migrations.Where(m => !applied.Contains(m.Version)))
            {
                count += await WithLockRetriesAsync(version, async () =>
                {
                    await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                    await ApplyAsync(connection, transaction, version, sql, cancellationToken);
                    return 1;
                }, cancellationToken);
            }

            return count;
        }
        finally
        {
            await connection.ExecuteAsync("select pg_advisory_unlock(@AdvisoryLockKey)", new { AdvisoryLockKey });
        }
    }

    /// <summary>Runs one migration's step (its transaction, rolled back when the step throws) until it has its table locks:
    /// after a <c>55P03</c> the requests that queued behind its lock request go on for a second, then it asks again, up to
    /// <see cref="LockAttempts"/> times; the last refusal ends the start (<see cref="ApplyAsync(int?, CancellationToken)"/>).</summary>
    private async Task<int> WithLockRetriesAsync(string version, Func<Task<int>> step, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await step();
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable && attempt < LockAttempts)
            {
                logger.LogWarning("Migration {Version} could not lock its table within {LockTimeout} (attempt {Attempt} of {Attempts}): " +
                    "another session holds it; trying again", version, LockTimeout, attempt, LockAttempts);
                await Task.Delay(LockPoll, cancellationToken);
            }
        }
    }

    /// <summary>Takes the migration lock: the session lock when <paramref name="transaction"/> is null, else the
    /// transaction's. While another instance holds it, says so once and asks again every second, each ask a quick statement
    /// under the usual command timeout, so a database that stops answering still ends the start.</summary>
    private async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var ask = $"select pg_try_advisory{(transaction is null ? "" : "_xact")}_lock(@AdvisoryLockKey)";
        for (var waited = false; !await connection.ExecuteScalarAsync<bool>(ask, new { AdvisoryLockKey }, transaction); waited = true)
        {
            if (!waited)
            {
                logger.LogInformation("Another instance holds the migration lock; waiting for its migrations to finish");
            }

            await Task.Delay(LockPoll, cancellationToken);
        }
    }

    /// <summary>True when every embedded migration is recorded (readiness).</summary>
    public async Task<bool> IsUpToDateAsync(CancellationToken cancellationToken)
    {
        // The token bounds the queries too, not only the connection's opening: a probe answers within its deadline even when
        // the database accepts connections but stalls (the command timeout alone would hold it 10 s per query).
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition("select to_regclass('schema_migrations') is not null",
            cancellationToken: cancellationToken));
        if (!exists)
        {
            return false;
        }

        var applied = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "select count(*) from schema_migrations where version = any(@versions)",
            new { versions = Migrations.Select(m => m.Version).ToArray() }, cancellationToken: cancellationToken));
        return applied == Migrations.Count;
    }

    private static List<(string, string)> LoadMigrations()
    {
        var assembly = Assembly.GetExecutingAssembly();
        const string marker = ".Operations.Migrations.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.Contains(marker) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                var version = n[(n.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..^4];
                return (version, reader.ReadToEnd());
            })
            .OrderBy(m => m.version, StringComparer.Ordinal)
            .ToList();
    }
}
