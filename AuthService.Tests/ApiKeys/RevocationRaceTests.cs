using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.ApiKeys;

/// <summary>A revoked key is refused on the revoking instance from the moment the revocation returns, even when a lookup
/// read the key between the revoking statement and its commit.</summary>
public class RevocationRaceTests : AppFixture
{
    [Test]
    public async Task A_lookup_racing_the_revocation_does_not_keep_the_key_alive()
    {
        var created = await (await Client.PostAsJsonAsync("/v1/api-keys", new { name = "racer", scopes = new[] { "verify" } }))
            .Content.ReadFromJsonAsync<CreatedKey>();
        using var racer = App.ClientWithKey(created!.Key);
        var userPath = $"/v1/users/{AuthApp.NewUserId()}/two-factor";
        Assert.That((await racer.GetAsync(userPath)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // Hold the revocation between its update and its commit: its audit insert waits for this lock.
        await using var blocker = new NpgsqlConnection(App.ConnectionString);
        await blocker.OpenAsync();
        await using var hold = await blocker.BeginTransactionAsync();
        await blocker.ExecuteAsync("lock table audit_events in exclusive mode", transaction: hold);
        var revoke = Client.DeleteAsync($"/v1/api-keys/{created.Id}");
        await using var observer = new NpgsqlConnection(App.ConnectionString); // pg_stat_activity is frozen inside a transaction
        await WaitUntilAsync(async () => await observer.ExecuteScalarAsync<bool>(
            "select exists(select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%insert into audit_events%')"));

        App.Time.Advance(TimeSpan.FromSeconds(6)); // the cached entry from before has expired: the next lookup reads the row
        Assert.That((await racer.GetAsync(userPath)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "not revoked yet: the update is uncommitted");

        await hold.RollbackAsync();
        Assert.That((await revoke).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await ProblemAssert.IsProblemAsync(await racer.GetAsync(userPath), HttpStatusCode.Unauthorized, "unauthorized");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 400 && !await condition(); i++)
        {
            await Task.Delay(25); // polling the database for the other request's progress, not waiting for a clock
        }

        Assert.That(await condition(), Is.True, "the revocation did not reach its audit insert");
    }

    private sealed record CreatedKey(Guid Id, string Key);
}
