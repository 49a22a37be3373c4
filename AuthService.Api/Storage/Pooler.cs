using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>What sits between the service and PostgreSQL (<c>Database:Pooler</c>): <c>none</c> (default; a direct
/// connection, or Npgsql multi-host to a Patroni cluster) or <c>pgbouncer</c> (PgBouncer in transaction pooling mode).
/// <para>In transaction mode consecutive transactions of one Npgsql connection may run on different server connections,
/// so nothing may outlive a transaction: no server-side prepared statements (PgBouncer 1.18 does not track them; from
/// 1.21 <c>max_prepared_statements</c> does, but this setting does not rely on it), no session advisory locks, no
/// <c>SET</c>, temp tables or <c>LISTEN</c>. The request path already keeps to that; the switch turns off auto-prepare
/// and makes the migration lock transaction-scoped.</para></summary>
public sealed record Pooler(bool IsPgBouncer)
{
    public static readonly Pooler None = new(false);
    public static readonly Pooler PgBouncer = new(true);

    /// <summary>Reads and validates <c>Database:Pooler</c> against the connection string; a contradiction is a
    /// one-line start-up refusal, not a failure under load.</summary>
    public static Pooler From(IConfiguration configuration, string connectionString)
    {
        var value = configuration["Database:Pooler"]?.Trim();
        var pooler = value?.ToLowerInvariant() switch
        {
            null or "" or "none" => None,
            "pgbouncer" => PgBouncer,
            _ => throw new InvalidOperationException(
                $"Database:Pooler must be `none` or `pgbouncer`, not `{value}`."),
        };

        if (pooler.IsPgBouncer)
        {
            var given = new NpgsqlConnectionStringBuilder(connectionString);
            if (given.MaxAutoPrepare > 0)
            {
                throw new InvalidOperationException(
                    "Database:Pooler=pgbouncer cannot carry server-side prepared statements: remove Max Auto Prepare from ConnectionStrings__Auth (or set it to 0).");
            }
        }

        return pooler;
    }
}
