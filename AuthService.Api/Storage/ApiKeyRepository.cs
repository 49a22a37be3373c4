using System.Collections.Concurrent;
using AuthService.Api.Configuration;
using AuthService.Core.Security;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Storage;

public sealed class ApiKeyRow
{
    public Guid Id { get; init; }
    public string Name { get; init; } = "";
    public string Prefix { get; init; } = "";
    public string[] Scopes { get; init; } = [];
    public DateTime CreatedAt { get; init; }
    public DateTime? RevokedAt { get; init; }
}

public sealed class ApiKeyRepository(NpgsqlDataSource dataSource, TimeProvider time, IOptions<AuthOptions> options)
{
    private const int MaxCachedKeys = 10_000;
    private readonly ConcurrentDictionary<string, (ApiKeyRow Row, DateTimeOffset Until)> _cache = new();
    private readonly TimeSpan _cacheFor = TimeSpan.FromSeconds(Math.Max(0, options.Value.ApiKeyCacheSeconds));

    // Bumped by every revocation after it commits: a lookup that read the database before that moment does not cache
    // what it read, so a revoked key is refused on this instance from the moment RevokeAsync returns.
    private long _revocations;

    /// <summary>The active key whose hash matches, or null (unknown or revoked). Known keys are remembered for
    /// <c>Auth:ApiKeyCacheSeconds</c> (default 5) to save a database round trip on every request; a revocation takes
    /// effect at once on the instance that revoked, and within that time on the others.</summary>
    public async Task<ApiKeyRow?> GetActiveByKeyAsync(string key, CancellationToken cancellationToken)
    {
        var hash = ApiKeyTokens.Hash(key);
        var cacheKey = Convert.ToBase64String(hash);
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(cacheKey, out var cached) && cached.Until > now)
        {
            return cached.Row;
        }

        const string sql = """
            select id, name, prefix, scopes, created_at, revoked_at
            from api_keys where key_hash = @hash and revoked_at is null
            """;
        var revocationsBefore = Interlocked.Read(ref _revocations);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(
            new CommandDefinition(sql, new { hash }, cancellationToken: cancellationToken));
        if (row is null)
        {
            _cache.TryRemove(cacheKey, out _);
        }
        else if (_cacheFor > TimeSpan.Zero)
        {
            if (Interlocked.Read(ref _revocations) != revocationsBefore)
            {
                return row; // a revocation committed while this read was under way: do not cache what may be stale
            }

            if (_cache.Count >= MaxCachedKeys)
            {
                _cache.Clear(); // only unknown-key floods could fill it, and those are never cached
            }

            _cache[cacheKey] = (row, now + _cacheFor);
            if (Interlocked.Read(ref _revocations) != revocationsBefore)
            {
                _cache.TryRemove(cacheKey, out _); // a revocation committed between the check and the write
            }
        }

        return row;
    }

    public async Task<ApiKeyRow> CreateAsync(string key, string name, IReadOnlyCollection<string> scopes, DateTimeOffset now,
        Guid? actingKeyId, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into api_keys (id, name, prefix, key_hash, scopes, created_at)
            values (@id, @name, @prefix, @hash, @scopes, @now)
            returning id, name, prefix, scopes, created_at, revoked_at
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleAsync<ApiKeyRow>(sql, new
        {
            id = Guid.CreateVersion7(now),
            name,
            prefix = ApiKeyTokens.DisplayPrefix(key),
            hash = ApiKeyTokens.Hash(key),
            scopes = scopes.ToArray(),
            now,
        }, transaction);
        await AuditLog.AppendAsync(connection, transaction, null, AuditEvents.ApiKeyCreated, now, actingKeyId,
            new { keyId = row.Id, row.Name, row.Scopes });
        await transaction.CommitAsync(cancellationToken);
        return row;
    }

    /// <summary>Creates the configured bootstrap admin key unless a key with that value already exists
    /// (even revoked: a revoked bootstrap key stays revoked).</summary>
    public async Task EnsureBootstrapKeyAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into api_keys (id, name, prefix, key_hash, scopes, created_at)
            values (@id, 'bootstrap-admin', @prefix, @hash, array['admin'], @now)
            on conflict (key_hash) do nothing
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(sql, new
        {
            id = Guid.CreateVersion7(now),
            prefix = ApiKeyTokens.DisplayPrefix(key),
            hash = ApiKeyTokens.Hash(key),
            now,
        });
    }

    public async Task<IReadOnlyList<ApiKeyRow>> ListAsync(CancellationToken cancellationToken)
    {
        const string sql = "select id, name, prefix, scopes, created_at, revoked_at from api_keys order by created_at, id";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<ApiKeyRow>(new CommandDefinition(sql, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>True when an active key was revoked by this call.</summary>
    public async Task<bool> RevokeAsync(Guid id, DateTimeOffset now, Guid? actingKeyId, CancellationToken cancellationToken)
    {
        const string sql = "update api_keys set revoked_at = @now where id = @id and revoked_at is null";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var revoked = await connection.ExecuteAsync(sql, new { id, now }, transaction) == 1;
        if (revoked)
        {
            await AuditLog.AppendAsync(connection, transaction, null, AuditEvents.ApiKeyRevoked, now, actingKeyId, new { keyId = id });
        }

        await transaction.CommitAsync(cancellationToken);

        // Only after the commit: a lookup between the update and the commit still reads the key as active.
        Interlocked.Increment(ref _revocations);
        foreach (var entry in _cache.Where(e => e.Value.Row.Id == id))
        {
            _cache.TryRemove(entry.Key, out _);
        }

        return revoked;
    }

    public async Task<bool> ExistsAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>("select exists(select 1 from api_keys where id = @id)", new { id });
    }
}
