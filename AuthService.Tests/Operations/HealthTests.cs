using System.Net;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Operations;

public class HealthTests
{
    [Test]
    public async Task Live_and_ready_answer_without_a_key()
    {
        using var app = new AuthApp();
        using var client = app.CreateClient();
        Assert.That((await client.GetAsync("/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Ready_turns_unready_when_a_migration_is_missing_while_live_stays_up()
    {
        var connectionString = TestDatabase.CreateDatabase("health");
        using var app = new AuthApp(connectionString: connectionString);
        using var client = app.CreateClient();
        Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("delete from schema_migrations where version = (select max(version) from schema_migrations)", connection);
            await command.ExecuteNonQueryAsync();
        }

        Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((await client.GetAsync("/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
