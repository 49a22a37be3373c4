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

    /// <summary>The per-request answer without a read (<c>TryGetCached</c>, a span hashed on the stack): only a key the
    /// cache holds and has not expired, never an unknown, expired or revoked one.</summary>
    [Test]
    public async Task The_cache_answers_a_span_only_for_a_live_cached_key()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var dataSource = NpgsqlDataSource.Create(App.ConnectionString);
        var keys = new ApiKeyService(dataSource, time, Options.Create(new AuthOptions { ApiKeyCacheSeconds = 5 }));
        var key = "ask_" + Guid.NewGuid().ToString("N");
        var created = await keys.CreateAsync(key, "span", ["verify"], time.GetUtcNow(), null, CancellationToken.None);
        var header = "Bearer " + key + " ";

        Assert.That(keys.TryGetCached(header.AsSpan(7).Trim(), out _), Is.False, "not read yet");
        Assert.That((await keys.GetActiveByKeyAsync(key, CancellationToken.None))?.Id, Is.EqualTo(created.Id));
        Assert.That(keys.TryGetCached(header.AsSpan(7).Trim(), out var row), Is.True);
        Assert.That(row!.Id, Is.EqualTo(created.Id));
        Assert.That(keys.TryGetCached((key + "x").AsSpan(), out _), Is.False, "another key");

        time.Advance(TimeSpan.FromSeconds(6));
        Assert.That(keys.TryGetCached(key.AsSpan(), out _), Is.False, "expired");

        Assert.That((await keys.GetActiveByKeyAsync(key, CancellationToken.None))?.Id, Is.EqualTo(created.Id));
        Assert.That(await keys.RevokeAsync(created.Id, time.GetUtcNow(), null, CancellationToken.None), Is.True);
        Assert.That(keys.TryGetCached(key.AsSpan(), out _), Is.False, "revoked on this instance");
        Assert.That(await keys.GetActiveByKeyAsync(key, CancellationToken.None), Is.Null);
    }

    /// <summary>The failure path of sharing: a read that started before a revocation on this instance is still under way
    /// (its connection held at open), and a request that arrives after the revocation returned must not join it: it reads on
    /// its own and is refused while the old read is still held. Keyed by the key alone, it would join and wait (and fail here
    /// on the 10 s timeout).</summary>
    [Test]
    public async Task A_request_after_a_revocation_never_joins_a_read_that_started_before_it()
    {
        var gate = new TaskCompletionSource();
        var armed = 0;
        var builder = new NpgsqlDataSourceBuilder(App.ConnectionString);
        builder.UsePhysicalConnectionInitializer(_ => { }, async _ =>
        {
            if (Interlocked.Exchange(ref armed, 0) == 1)
            {
                await gate.Task; // the next new connection's open waits here: the read that uses it is under way
            }
        });
        await using var dataSource = builder.Build();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var keys = new ApiKeyService(dataSource, time, Options.Create(new AuthOptions { ApiKeyCacheSeconds = 5 }));
        var key = "ask_" + Guid.NewGuid().ToString("N");
        var created = await keys.CreateAsync(key, "revoked-while-read", ["verify"], time.GetUtcNow(), null, CancellationToken.None);

        Task<Api.Storage.ApiKeyRow?> before;
        await using (var held = await dataSource.OpenConnectionAsync()) // the pool's one connection is busy: the read opens another
        {
            Interlocked.Exchange(ref armed, 1);
            before = keys.GetActiveByKeyAsync(key, CancellationToken.None);
            await Task.Yield();
        }

        Assert.That(await keys.RevokeAsync(created.Id, time.GetUtcNow(), null, CancellationToken.None), Is.True);
        Assert.That(before.IsCompleted, Is.False, "the read from before the revocation is still under way");

        var after = keys.GetActiveByKeyAsync(key, CancellationToken.None);
        Assert.That(await after.WaitAsync(TimeSpan.FromSeconds(10)), Is.Null, "a request after the revocation reads on its own and is refused");

        gate.SetResult();
        Assert.That(await before, Is.Null, "the held read queried only after the revocation had committed");
        Assert.That(await keys.GetActiveByKeyAsync(key, CancellationToken.None), Is.Null, "and nothing cached the key");
    }
}
