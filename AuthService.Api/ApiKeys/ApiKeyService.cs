using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Storage;
using AuthService.Core.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.ApiKeys;

/// <summary>The caller keys: the authentication lookup with its short cache, and the changes that must reach that cache
/// (creation, revocation, the bootstrap key). The SQL is in <see cref="ApiKeyStore"/>.</summary>
public sealed class ApiKeyService(NpgsqlDataSource dataSource, TimeProvider time, IOptions<AuthOptions> options)
{
    private const int MaxCachedKeys = 10_000;
    // Keyed by the base64 of the key's SHA-256; ordinal, so that a hit can be looked up by a span (TryGetCached).
    private readonly ConcurrentDictionary<string, (ApiKeyRow Row, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);
    private readonly TimeSpan _cacheFor = TimeSpan.FromSeconds(Math.Max(0, options.Value.ApiKeyCacheSeconds));

    // Bumped by every revocation after it commits: a lookup that read the database before that moment does not cache
    // what it read, so a revoked key is refused on this instance from the moment RevokeAsync returns.
    private long _revocations;

    // The lookups under way, by key hash and the revocation count they started under. A key's cache entry expires for every
    // request at once: without this, each request arriving during the database read started its own (a stampede of up to
    // one read and one connection per request in flight: the soak showed the pool growing to 32 connections, which idle
    // pruning closed together five minutes later, with a latency spike each time). Now they share one read. A request that
    // arrives after a revocation on this instance never joins a read that started before it, and none joins a read that began
    // more than Auth:ApiKeyCacheSeconds before it arrived: such a read may predate a revocation on another instance by more
    // than that bound (its answer was slow), so the request starts a read of its own.
    private readonly ConcurrentDictionary<(string Key, long Revocations), SharedRead> _lookups = new();

    /// <summary>A database read of a key that concurrent misses share, and the moment it was asked for: its snapshot is no
    /// older than that.</summary>
    private sealed record SharedRead(Lazy<Task<ApiKeyRow?>> Read, DateTimeOffset From);

    /// <summary>The active key whose hash matches, or null (unknown or revoked). Known keys are remembered for
    /// <c>Auth:ApiKeyCacheSeconds</c> (default 5) to save a database round trip on every request; a revocation takes
    /// effect at once on the instance that revoked, and within that time on the others. Concurrent misses for the same
    /// key share one database read.</summary>
    public async Task<ApiKeyRow?> GetActiveByKeyAsync(string key, CancellationToken cancellationToken)
    {
        var hash = ApiKeyTokens.Hash(key);
        if (TryGetCachedByHash(hash, out var cachedRow))
        {
            return cachedRow;
        }

        var cacheKey = Convert.ToBase64String(hash);
        var arrived = time.GetUtcNow();
        var revocations = Interlocked.Read(ref _revocations);
        var lookupKey = (cacheKey, revocations);
        var own = new SharedRead(new Lazy<Task<ApiKeyRow?>>(() => LookupAsync(hash, cacheKey, revocations, arrived)), arrived);
        var lookup = _lookups.AddOrUpdate(lookupKey, own, (_, underWay) => underWay.From + _cacheFor < arrived ? own : underWay);
        try
        {
            // The shared read is not cancelled by one caller going away; each caller stops waiting on its own token.
            return await lookup.Read.Value.WaitAsync(cancellationToken);
        }
        finally
        {
            _lookups.TryRemove(KeyValuePair.Create(lookupKey, lookup));
        }
    }

    /// <summary>The cache's answer for <paramref name="key"/>, without a database read and without allocating (the key hashed
    /// on the stack): false when the key is not cached or its entry expired, and then only <see cref="GetActiveByKeyAsync"/>
    /// may decide.</summary>
    public bool TryGetCached(ReadOnlySpan<char> key, [NotNullWhen(true)] out ApiKeyRow? row)
    {
        row = null;
        if (key.Length > ApiKeyTokens.MaxHashedLength)
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[32];
        ApiKeyTokens.Hash(key, hash);
        return TryGetCachedByHash(hash, out row);
    }

    /// <summary>The cache's one expiry check, by the key's SHA-256; the entry is found by span, nothing allocated.</summary>
    private bool TryGetCachedByHash(ReadOnlySpan<byte> hash, [NotNullWhen(true)] out ApiKeyRow? row)
    {
        Span<char> cacheKey = stackalloc char[44]; // base64 of 32 bytes
        Convert.TryToBase64Chars(hash, cacheKey, out _);
        row = _cache.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(cacheKey, out var cached) && cached.Until > time.GetUtcNow()
            ? cached.Row
            : null;
        return row is not null;
    }

    /// <summary>One database read of a key, cached when active unless a revocation committed meanwhile. The entry lives
    /// <c>Auth:ApiKeyCacheSeconds</c> from <paramref name="askedAt"/>, before the read: the database's snapshot is taken after
    /// that moment, so a revocation on another instance that the read missed is at most that old when the entry expires,
    /// however long the answer took to come back.</summary>
    private async Task<ApiKeyRow?> LookupAsync(byte[] hash, string cacheKey, long revocationsBefore, DateTimeOffset askedAt)
    {
        ApiKeyRow? row;
        await using (var connection = await dataSource.OpenConnectionAsync(CancellationToken.None))
        {
            row = await ApiKeyStore.GetActiveByHashAsync(connection, hash, CancellationToken.None);
        }

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

            _cache[cacheKey] = (row, askedAt + _cacheFor);
            if (Interlocked.Read(ref _revocations) != revocationsBefore)
            {
                _cache.TryRemove(cacheKey, out _); // a revocation committed between the check and the write
            }
        }

        return row;
    }

    public async Task<ApiKeyRow> CreateAsync(string key, string name, IReadOnlyCollection<string> scopes, DateTimeOffset now,
        Guid? actingKeyId, CancellationToken cancellationToken, string profile = "default")
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var row = await ApiKeyStore.InsertAsync(connection, transaction, Version7Ids.New(now), name, ApiKeyTokens.DisplayPrefix(key),
            ApiKeyTokens.Hash(key), scopes.ToArray(), now, profile);
        await AuditLog.AppendAsync(connection, transaction, null, new AuditEvent.ApiKeyCreated(row.Id, row.Name, row.Scopes, row.Profile), now, actingKeyId);
        await transaction.CommitAsync(cancellationToken);
        return row;
    }

    /// <summary>Creates the configured bootstrap admin key unless a key with that value already exists
    /// (even revoked: a revoked bootstrap key stays revoked). A key it creates is audited (<c>api_key_created</c>, no acting key)
    /// and announced (<c>api_key.created</c>) like one made through the API: a new admin credential is what an operator watches
    /// for (docs/SECURITY.md §7.3), and a changed <c>Auth:BootstrapAdminKey</c> makes one whatever other admin keys exist.</summary>
    public async Task EnsureBootstrapKeyAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await ApiKeyStore.InsertBootstrapUnlessHashExistsAsync(connection, transaction, Version7Ids.New(now), ApiKeyTokens.BootstrapDisplayPrefix,
                ApiKeyTokens.Hash(key), now) is { } row)
        {
            await AuditLog.AppendAsync(connection, transaction, null, new AuditEvent.ApiKeyCreated(row.Id, row.Name, row.Scopes, row.Profile), now, null);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ApiKeyRow>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ApiKeyStore.ListAsync(connection, cancellationToken);
    }

    /// <summary>True when an active key was revoked by this call.</summary>
    public async Task<bool> RevokeAsync(Guid id, DateTimeOffset now, Guid? actingKeyId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var revoked = await ApiKeyStore.RevokeByIdAsync(connection, transaction, id, now);
        if (revoked)
        {
            await AuditLog.AppendAsync(connection, transaction, null, new AuditEvent.ApiKeyRevoked(id), now, actingKeyId);
        }

        try
        {
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            // Only after the commit: a lookup between the update and the commit still reads the key as active. Also when the
            // commit throws: it may have committed all the same (a command timeout while it waits for a synchronous standby, a
            // connection broken mid-commit), and forgetting a key that was not revoked only costs the next request a read.
            Interlocked.Increment(ref _revocations);
            foreach (var entry in _cache.Where(e => e.Value.Row.Id == id))
            {
                _cache.TryRemove(entry.Key, out _);
            }
        }

        return revoked;
    }

    /// <summary>The key with this id, revoked or not, or null.</summary>
    public async Task<ApiKeyRow?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ApiKeyStore.FindByIdAsync(connection, id, cancellationToken);
    }
}
