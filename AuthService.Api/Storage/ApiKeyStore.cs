using Dapper;
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
    public string Profile { get; init; } = "default";
}

/// <summary>SQL of the caller keys. Only the key's SHA-256 is stored (<c>ApiKeyTokens.Hash</c>), with a display prefix.</summary>
public static class ApiKeyStore
{
    private const string Columns = "id, name, prefix, scopes, created_at, revoked_at, profile";

    /// <summary>The active key with this hash, or null (unknown or revoked).</summary>
    public static Task<ApiKeyRow?> GetActiveByHashAsync(NpgsqlConnection connection, byte[] hash, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<ApiKeyRow>(new CommandDefinition(
            $"select {Columns} from api_keys where key_hash = @hash and revoked_at is null", new { hash }, cancellationToken: cancellationToken));

    public static Task<ApiKeyRow> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string name,
        string prefix, byte[] hash, string[] scopes, DateTimeOffset now, string profile = "default") =>
        connection.QuerySingleAsync<ApiKeyRow>($"""
            insert into api_keys (id, name, prefix, key_hash, scopes, created_at, profile)
            values (@id, @name, @prefix, @hash, @scopes, @now, @profile)
            returning {Columns}
            """, new { id, name, prefix, hash, scopes, now, profile }, transaction);

    /// <summary>Inserts the bootstrap admin key unless a key with this hash exists (even revoked: a revoked bootstrap key
    /// stays revoked), and returns the row it inserted (null: it existed). An existing row only gets <paramref name="prefix"/>:
    /// earlier releases stored the key's first 12 characters. Instances starting at once with the same key insert it once (the
    /// second insert waits for the first's commit on the unique hash).</summary>
    public static async Task<ApiKeyRow?> InsertBootstrapUnlessHashExistsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id,
        string prefix, byte[] hash, DateTimeOffset now)
    {
        var inserted = await connection.QuerySingleOrDefaultAsync<ApiKeyRow>($"""
            insert into api_keys (id, name, prefix, key_hash, scopes, created_at)
            values (@id, 'bootstrap-admin', @prefix, @hash, array['admin'], @now)
            on conflict (key_hash) do nothing
            returning {Columns}
            """, new { id, prefix, hash, now }, transaction);
        if (inserted is null)
        {
            await connection.ExecuteAsync("update api_keys set prefix = @prefix where key_hash = @hash and prefix <> @prefix",
                new { prefix, hash }, transaction);
        }

        return inserted;
    }

    public static async Task<IReadOnlyList<ApiKeyRow>> ListAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<ApiKeyRow>(new CommandDefinition(
            $"select {Columns} from api_keys order by created_at, id", cancellationToken: cancellationToken))).AsList();

    /// <summary>True when an active key was revoked by this statement (false: unknown or already revoked).</summary>
    public static async Task<bool> RevokeByIdAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, DateTimeOffset now) =>
        await connection.ExecuteAsync("update api_keys set revoked_at = @now where id = @id and revoked_at is null", new { id, now },
            transaction) == 1;

    /// <summary>The key with this id, revoked or not, or null.</summary>
    public static Task<ApiKeyRow?> FindByIdAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<ApiKeyRow>(new CommandDefinition(
            $"select {Columns} from api_keys where id = @id", new { id }, cancellationToken: cancellationToken));
}
