using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Operations;

/// <summary>
/// A COMMIT that waits for a synchronous standby which does not answer (Patroni's standby stalled, or strict synchronous mode
/// without one) is cut by the command timeout. PostgreSQL answers the cancel of such a wait with a WARNING ("already
/// committed locally, but might not have been replicated") and success, and Npgsql, waiting for that answer by default,
/// returned success: the service acknowledged a write only the primary held, which a failover to the standby loses (DESIGN
/// §8.5: no acknowledged write is lost). The service's connections now break on a timeout (<c>Cancellation Timeout=-1</c>), so
/// the request is a 503 and acknowledges nothing. Here the standby is a name no server has, on a cluster of the test's own.
/// </summary>
public class SynchronousStandbyTests
{
    [Test]
    public async Task A_commit_still_waiting_for_a_synchronous_standby_is_a_503_not_an_acknowledgement()
    {
        using var cluster = new OwnCluster("sync-standby", 25474);
        // The throwaway clusters run with synchronous_commit off (scripts/pg.sh); a client setting wins over the server's.
        var connectionString = cluster.ServerConnectionString + ";Command Timeout=2;Options=-c synchronous_commit=on";
        using var app = new AuthApp(connectionString: connectionString);
        using var admin = app.AdminClient();
        var before = await admin.PostAsJsonAsync("/v1/api-keys", new { name = "before", scopes = new[] { "verify" } });
        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.Created), "with no synchronous standby named, a commit is local");

        await using (var dba = new NpgsqlConnection(cluster.ServerConnectionString))
        {
            await dba.OpenAsync();
            await using var standby = new NpgsqlCommand("alter system set synchronous_standby_names = 'ghost'", dba);
            await standby.ExecuteNonQueryAsync();
            await using var reload = new NpgsqlCommand("select pg_reload_conf()", dba);
            await reload.ExecuteNonQueryAsync();
        }

        await WaitForStandbyNameAsync(cluster.ServerConnectionString);
        await using (var dba = new NpgsqlConnection(cluster.ServerConnectionString))
        {
            // A commit waits for a standby only once the checkpointer has copied the setting into shared memory
            // (SyncRepUpdateSyncStandbysDefined, at its next loop), which can come after new connections already show it: the
            // request below was then committed locally, one run in many. A CHECKPOINT makes the checkpointer handle its
            // pending reload first, and returns only after it.
            await dba.OpenAsync();
            await using var checkpoint = new NpgsqlCommand("checkpoint", dba);
            await checkpoint.ExecuteNonQueryAsync();
        }

        var during = await admin.PostAsJsonAsync("/v1/api-keys", new { name = "during", scopes = new[] { "verify" } });

        await ProblemAssert.IsProblemAsync(during, HttpStatusCode.ServiceUnavailable, "database_unavailable");
    }

    /// <summary>A reload reaches a backend at its next command: a fresh connection shows when it took effect.</summary>
    private static async Task WaitForStandbyNameAsync(string connectionString)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var show = new NpgsqlCommand("show synchronous_standby_names", connection);
            if ((string?)await show.ExecuteScalarAsync() == "ghost")
            {
                return;
            }

            await Task.Delay(50); // polling a server setting, not timing the service
        }

        Assert.Fail("synchronous_standby_names did not reach new connections");
    }
}
