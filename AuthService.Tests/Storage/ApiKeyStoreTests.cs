using AuthService.Api.Storage;
using AuthService.Core.Security;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>The API key statements on the real database: a key is found by its hash while active, revoked once, and the
/// bootstrap insert never revives a revoked key.</summary>
public class ApiKeyStoreTests : AppFixture
{
    private static async Task<bool> RevokeAsync(NpgsqlConnection connection, Guid id, DateTimeOffset now)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        var revoked = await ApiKeyStore.RevokeByIdAsync(connection, transaction, id, now);
        await transaction.CommitAsync();
        return revoked;
    }

    [Test]
    public async Task A_key_is_found_by_its_hash_until_it_is_revoked_once()
    {
        var key = ApiKeyTokens.Generate();
        await using var connection = await OpenAsync();
        ApiKeyRow created;
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            created = await ApiKeyStore.InsertAsync(connection, transaction, Guid.CreateVersion7(), "store-test",
                ApiKeyTokens.DisplayPrefix(key), ApiKeyTokens.Hash(key), ["verify"], Now);
            await transaction.CommitAsync();
        }

        Assert.That((await ApiKeyStore.GetActiveByHashAsync(connection, ApiKeyTokens.Hash(key), default))?.Id, Is.EqualTo(created.Id));
        Assert.That(await RevokeAsync(connection, created.Id, Now), Is.True, "revoked by this call");
        Assert.That(await RevokeAsync(connection, created.Id, Now.AddSeconds(1)), Is.False, "already revoked");
        Assert.That(await ApiKeyStore.GetActiveByHashAsync(connection, ApiKeyTokens.Hash(key), default), Is.Null);
        Assert.That((await ApiKeyStore.FindByIdAsync(connection, created.Id, default))?.RevokedAt, Is.Not.Null, "a revoked key is still found, revoked");
        Assert.That(await RevokeAsync(connection, Guid.CreateVersion7(), Now), Is.False, "unknown id");
        Assert.That(await ApiKeyStore.FindByIdAsync(connection, Guid.CreateVersion7(), default), Is.Null);

        var listed = (await ApiKeyStore.ListAsync(connection, default)).Single(k => k.Id == created.Id);
        Assert.That(listed.RevokedAt, Is.EqualTo(Now.UtcDateTime).Within(TimeSpan.FromMilliseconds(1)), "the first revocation's time");
    }

    [Test]
    public async Task The_bootstrap_insert_adds_the_key_once_and_never_revives_it()
    {
        var key = ApiKeyTokens.Generate();
        var hash = ApiKeyTokens.Hash(key);
        await using var connection = await OpenAsync();
        var inserted = await ApiKeyStore.InsertBootstrapUnlessHashExistsAsync(connection, null!, Guid.CreateVersion7(), ApiKeyTokens.DisplayPrefix(key), hash, Now);
        var bootstrap = await ApiKeyStore.GetActiveByHashAsync(connection, hash, default);
        Assert.That(bootstrap?.Scopes, Is.EqualTo(new[] { "admin" }));
        Assert.That(inserted?.Id, Is.EqualTo(bootstrap!.Id), "the row it inserted");
        Assert.That(await ApiKeyStore.InsertBootstrapUnlessHashExistsAsync(connection, null!, Guid.CreateVersion7(), ApiKeyTokens.DisplayPrefix(key), hash, Now),
            Is.Null, "nothing inserted the second time");

        await RevokeAsync(connection, bootstrap!.Id, Now);
        await ApiKeyStore.InsertBootstrapUnlessHashExistsAsync(connection, null!, Guid.CreateVersion7(), ApiKeyTokens.DisplayPrefix(key), hash, Now);
        Assert.That(await ApiKeyStore.GetActiveByHashAsync(connection, hash, default), Is.Null, "a revoked bootstrap key stays revoked");
    }
}
