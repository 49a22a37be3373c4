using Npgsql;

namespace AuthService.Tests.Infrastructure;

/// <summary>The real PostgreSQL the API tests run against. <c>make test</c> starts a throwaway cluster and sets
/// <c>AUTHSERVICE_TEST_DB</c>; a missing or unreachable server fails the tests (never skips them).
/// Each test run gets a fresh database; tests isolate by fresh user ids, not by truncating.</summary>
public static class TestDatabase
{
    private static readonly Lazy<string> Created = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("AUTHSERVICE_TEST_DB") is { Length: > 0 } value
            ? value
            : "Host=127.0.0.1;Port=25432;Username=postgres;Database=postgres";

    /// <summary><c>Database:Pooler</c> for every service the tests start: <c>make test-pgbouncer</c> sets
    /// <c>AUTHSERVICE_TEST_POOLER=pgbouncer</c> and points <c>AUTHSERVICE_TEST_DB</c> at PgBouncer.</summary>
    public static string? Pooler => Environment.GetEnvironmentVariable("AUTHSERVICE_TEST_POOLER") is { Length: > 0 } value ? value : null;

    /// <summary>Connection string of this run's database (created on first use).</summary>
    public static string ConnectionString => Created.Value;

    /// <summary>Creates another empty database on the same server (for tests that need their own schema).</summary>
    public static string CreateDatabase(string prefix)
    {
        var full = $"{prefix}_{Environment.ProcessId}_{Guid.NewGuid():N}".ToLowerInvariant();
        var name = full[..Math.Min(full.Length, 60)];
        try
        {
            using var connection = new NpgsqlConnection(ServerConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
            command.ExecuteNonQuery();
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException(
                $"PostgreSQL for tests is unreachable at '{ServerConnectionString}'. Run `make test`, which starts one, or set AUTHSERVICE_TEST_DB.", e);
        }

        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }

    private static string Create() => CreateDatabase("authservice_test");
}
