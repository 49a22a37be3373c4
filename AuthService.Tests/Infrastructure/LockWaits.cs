using Npgsql;

namespace AuthService.Tests.Infrastructure;

/// <summary>For tests that hold a row lock in a transaction of their own and let requests run into it: waits (bounded) until
/// that many sessions of the database wait on a lock, so the test knows the requests reached the locked row before it commits.</summary>
public static class LockWaits
{
    public static async Task UntilSessionsWaitAsync(string connectionString, int sessions)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        for (var i = 0; i < 500; i++)
        {
            await using var command = new NpgsqlCommand(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'", connection);
            if ((long)(await command.ExecuteScalarAsync())! >= sessions)
            {
                return;
            }

            await Task.Delay(20); // polling a real database's state, not driving the service's clock
        }

        Assert.Fail($"{sessions} sessions never waited on the locked row");
    }
}
