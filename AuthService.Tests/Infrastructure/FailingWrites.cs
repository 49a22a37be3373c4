using Dapper;
using Npgsql;

namespace AuthService.Tests.Infrastructure;

/// <summary>A transient failure (40001, as a failover would give) of the rows of <c>table</c> that <c>condition</c> picks: a
/// row trigger on the table for the given operations, dropped on dispose. <c>condition</c> names the row as <c>r</c>
/// (<c>r.user_id = '…'</c>), whichever of NEW and OLD the operation has; other tests' rows are untouched.</summary>
public sealed class FailingWrites : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly string _table;
    private readonly string _name = "fail_" + Guid.NewGuid().ToString("N");

    private FailingWrites(string connectionString, string table) => (_connectionString, _table) = (connectionString, table);

    /// <param name="operations"><c>insert</c>, <c>insert or update</c>, <c>delete</c>, …</param>
    public static async Task<FailingWrites> OnAsync(string connectionString, string table, string condition, string operations = "insert")
    {
        var failing = new FailingWrites(connectionString, table);
        var row = operations.Trim() == "delete" ? "old" : "new";
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.ExecuteAsync($"""
            create function {failing._name}() returns trigger language plpgsql as $$
            declare r {table}%rowtype := {row};
            begin
                if {condition} then raise exception 'storage failed' using errcode = '40001'; end if;
                return {row};
            end $$;
            create trigger {failing._name} before {operations} on {table} for each row execute function {failing._name}();
            """);
        return failing;
    }

    public async ValueTask DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.ExecuteAsync($"drop trigger {_name} on {_table}; drop function {_name}();");
    }
}
