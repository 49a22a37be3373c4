using AuthService.Api.ApiKeys;
using AuthService.Api.Configuration;
using AuthService.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace AuthService.Tests.ApiKeys;

/// <summary>A key's cache entry expires for every request at once. The requests that miss it together share one database
/// read: before, each opened its own connection, and the soak showed the pool growing to 32 connections that idle pruning
/// then closed together, with a latency spike each time (docs/SCALING.md, Soak).</summary>
public class ApiKeyLookupTests : AppFixture
{
    [Test]
    public async Task Concurrent_misses_for_one_key_share_one_read_and_one_connection()
    {
        var opened = 0;
        var builder = new NpgsqlDataSourceBuilder(App.ConnectionString);
        builder.UsePhysicalConnectionInitializer(_ => Interlocked.Increment(ref opened), _ =>
        {
            Interlocked.Increment(ref opened);
            return Task.CompletedTask;
        });
        await using var dataSource = builder.Build();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var keys = new ApiKeyService(dataSource, time, Options.Create(new AuthOptions { ApiKeyCacheSeconds = 5 }));
        var key = "ask_" + Guid.NewGuid().ToString("N");
        var created = await keys.CreateAsync(key, "stampede", ["verify"], time.GetUtcNow(), null, CancellationToken.None);
        Assert.That(opened, Is.EqualTo(1), "the creation's connection, idle in the pool");

        for (var round = 1; round <= 2; round++)
        {
            var start = new TaskCompletionSource();
            var lookups = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                await start.Task;
                return await keys.GetActiveByKeyAsync(key, CancellationToken.None);
            })).ToList();
            start.SetResult();
            var rows = await Task.WhenAll(lookups);

            Assert.That(rows.Select(r => r?.Id), Has.All.EqualTo(created.Id), $"round {round}: every request authenticated");
            Assert.That(opened, Is.EqualTo(1), $"round {round}: one read on the pool's one connection, not one connection per request");
            time.Advance(TimeSpan.FromSeconds(6)); // the entry expires for everyone at once
        }
    }
}
