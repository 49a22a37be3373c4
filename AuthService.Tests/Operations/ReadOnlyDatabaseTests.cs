using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Operations;

/// <summary>During a failover a service can reach a server that refuses writes (a primary Patroni demotes, a standby
/// not yet promoted: SQLSTATE 25006 read_only_sql_transaction). That is an outage like a refused connection: 503
/// <c>database_unavailable</c> with Retry-After, never a 500. The database is made read-only under a running service
/// (<c>alter database … set default_transaction_read_only</c>, then all its sessions are terminated).</summary>
public class ReadOnlyDatabaseTests
{
    [Test]
    public async Task A_read_only_database_answers_503_never_500()
    {
        var connectionString = TestDatabase.CreateDatabase("readonly");
        using var app = new AuthApp(connectionString: connectionString);
        using var client = app.AdminClient();
        var user = await Flows.EnableTotpAsync(app, client);
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;

        await using (var dba = new NpgsqlConnection(connectionString))
        {
            await dba.OpenAsync();
            await using var readOnly = new NpgsqlCommand($"alter database \"{name}\" set default_transaction_read_only = on", dba);
            await readOnly.ExecuteNonQueryAsync();
            // Every session of the database, this one too: behind PgBouncer this server connection would otherwise go
            // back to its pool still writable. This one last, in a statement of its own: a backend that has signalled
            // itself dies at its next interrupt check, so a single scan that met it first spared every session listed
            // after it, writable (a 200 here one run in many, as backend slots were reused by other tests). Each of the others
            // is waited for (up to 5 s), so none is still running a statement when the requests below begin.
            await using var kill = new NpgsqlCommand(
                """
                do $$
                begin
                    perform pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid();
                    perform pg_terminate_backend(pg_backend_pid());
                end
                $$
                """, dba);
            try
            {
                await kill.ExecuteScalarAsync();
            }
            catch (NpgsqlException)
            {
                // our own session ended with the others
            }
        }

        // A valid code (the accept writes), a wrong one (the failure is recorded), and an enrollment: all write.
        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add(await Flows.VerifyAsync(client, user.UserId, new { code = Flows.Code(user.Secret, app.Time.GetUtcNow()) }));
            answers.Add(await Flows.VerifyAsync(client, user.UserId, new { code = "000000" }));
            answers.Add(await client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId("readonly")}/two-factor/enroll", new { method = "totp" }));
        }

        foreach (var answer in answers)
        {
            await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
            Assert.That(answer.Headers.RetryAfter, Is.Not.Null);
        }
    }
}
