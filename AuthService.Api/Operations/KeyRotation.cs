using AuthService.Api.Storage;
using AuthService.Api.Configuration;
using AuthService.Core.Security;
using Dapper;
using Npgsql;

namespace AuthService.Api.Operations;

/// <summary>Key rotation (DESIGN §4): after a new key is added and made active, <see cref="RotateAsync"/> re-seals
/// every stored secret under it, in small transactions, while the service keeps serving (old keys still open
/// values until then). <see cref="CheckAsync"/> runs at start-up: every key id of a sealed value must be in the ring and
/// must open a sample value, and every key id of a live phone or bypass code's MAC must be in the ring, so a missing or
/// wrong key is a clear refusal to start, not a 503 at login.</summary>
public sealed class KeyRotation(NpgsqlDataSource dataSource, SecretBox secrets, ILogger<KeyRotation> logger)
{
    private const int BatchSize = 500;

    /// <summary>Npgsql's "no command timeout".</summary>
    private const int NoTimeout = 0;

    /// <summary>Tables and columns that hold sealed values, the SQL of the row's owner, and the associated data
    /// (<see cref="SealContexts"/>) each is sealed under; phone numbers also carry a lookup hash. A row is re-sealed by its own
    /// key (<c>Row</c>, a uuid column: the update finds the row through its primary key, while the batch holds its row
    /// locks): a user may hold several factors and pending factors.</summary>
    private static readonly (string Table, string Column, string Owner, string Row, Func<string, string> Aad, bool IsPhone)[] Sealed =
    [
        // Pending rows first: a confirmation copies a pending row's sealed value into factors.
        ("pending_factors", "totp_secret", "user_id", "id", SealContexts.TotpSecret, false),
        ("pending_factors", "phone_number", "user_id", "id", SealContexts.PhoneNumber, true),
        ("factors", "totp_secret", "user_id", "factor_id", SealContexts.TotpSecret, false),
        ("factors", "phone_number", "user_id", "factor_id", SealContexts.PhoneNumber, true),
        ("webhook_endpoints", "secret", "id::text", "id", id => SealContexts.WebhookSecret(Guid.Parse(id)), false),
    ];

    /// <summary>Live values MACed under a key (<see cref="SecretBox.Mac(string, string, string)"/>), by key: they cannot be
    /// re-sealed, so their key must stay until they expire (a phone code 10 minutes, a bypass code at most 3 days) or, for a
    /// bypass code, until it is used up or revoked.</summary>
    private static readonly (string What, string Sql)[] LiveMacs =
    [
        ("live phone codes", "select key_id, count(*) from phone_codes where expires_at > now() group by 1"),
        ("live bypass codes", "select key_id, count(*) from bypass_codes where uses_left > 0 and expires_at > now() group by 1"),
    ];

    private static string KeyIdSql(string column) =>
        $"convert_from(substring({column} from 3 for get_byte({column}, 1)), 'UTF8')";

    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var (table, column, owner, _, aad, _) in Sealed)
        {
            // One value per key: a whole-table read and sort (no index can serve the key id inside a sealed value), so it runs
            // without the connection's command timeout: on a table of millions of factors it outlasted the 10 s and the start
            // failed with an unhandled timeout, on every instance, until the timeout was raised by hand.
            var samples = await connection.QueryAsync<(string KeyId, string UserId, byte[] Value)>(new CommandDefinition(
                $"""
                select distinct on (key_id) {KeyIdSql(column)} as key_id, {owner} as user_id, {column}
                from {table} where {column} is not null order by key_id
                """, commandTimeout: 0, cancellationToken: cancellationToken));
            foreach (var (keyId, userId, value) in samples)
            {
                try
                {
                    secrets.Open(value, aad(userId));
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    throw new StartupException(
                        $"Encryption key '{keyId}' is missing from Encryption:Keys or is not the key that sealed the stored secrets " +
                        $"(found in {table}.{column}). Restore the original key; never remove a key before `rotate-keys` reports 0 values under it.");
                }
            }
        }

        foreach (var (what, sql) in LiveMacs)
        {
            foreach (var (keyId, count) in await connection.QueryAsync<(string, long)>(sql))
            {
                if (!secrets.HasKey(keyId))
                {
                    throw new StartupException(
                        $"Encryption key '{keyId}' is missing from Encryption:Keys, and {count} {what} are hashed under it (they could not be checked). " +
                        "Restore the key until they expire; never remove a key before `rotate-keys` reports 0 values under it.");
                }
            }
        }
    }

    /// <summary>Passes of <see cref="RotateAsync"/> at most, and the wait between two: a pass skips the rows a request has
    /// locked at that moment (a login updating its factor), and a value a confirmation copied from a pending row sealed under
    /// the old key appears after the pass over factors; the next pass takes them.</summary>
    private const int MaxPasses = 20;
    private static readonly TimeSpan PassDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>Re-seals every value not sealed under the active key, and recomputes the per-number lookup hashes, pass after
    /// pass until none is left (or <see cref="MaxPasses"/> passes; <see cref="CountByKeyAsync"/> then shows what is left).
    /// Returns how many values were re-sealed.</summary>
    public async Task<int> RotateAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        for (var pass = 0; pass < MaxPasses; pass++)
        {
            total += await RotatePassAsync(cancellationToken);
            if (await LeftUnderOtherKeysAsync(cancellationToken) == 0)
            {
                break;
            }

            await Task.Delay(PassDelay, cancellationToken);
        }

        return total;
    }

    private async Task<long> LeftUnderOtherKeysAsync(CancellationToken cancellationToken) =>
        (await CountByKeyAsync(cancellationToken, sealedOnly: true)).Where(k => k.Key != secrets.ActiveKeyId).Sum(k => k.Value);

    /// <summary>One pass over every sealed column: the rows not under the active key that no request holds locked now. Each
    /// batch goes on from the last row key of the one before (in the key's order, which its primary key index serves), so a pass
    /// reads each row once, not again from the start of the table for every batch past the rows already re-sealed; a row
    /// skipped because it was locked is taken by the next pass. Its statements run without the command timeout, as the start's
    /// check does (<see cref="CheckAsync"/>): this is an operator's command, and a table of millions outlasts 10 s.</summary>
    internal async Task<int> RotatePassAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var (table, column, owner, row, aad, isPhone) in Sealed)
        {
            Guid? after = null;
            while (true)
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                // "for no key update": a webhook delivery's foreign key, and the outbox, hold key-share locks on endpoint rows
                // almost all the time under load; "for update" conflicted with them and skipped those rows every pass.
                var rows = (await connection.QueryAsync<(Guid RowKey, string UserId, byte[] Value)>(new CommandDefinition(
                    $"""
                    select {row} as row_key, {owner} as user_id, {column} from {table}
                    where {column} is not null and {KeyIdSql(column)} <> @active and (@after::uuid is null or {row} > @after)
                    order by {row}
                    limit {BatchSize} for no key update skip locked
                    """, new { active = secrets.ActiveKeyId, after }, transaction, NoTimeout, cancellationToken: cancellationToken))).ToList();
                if (rows.Count == 0)
                {
                    break;
                }

                foreach (var (rowKey, userId, value) in rows)
                {
                    var plain = secrets.Open(value, aad(userId));
                    var resealed = secrets.Seal(plain, aad(userId));
                    var hash = isPhone ? secrets.PhoneLookupHash(System.Text.Encoding.UTF8.GetString(plain)) : null;
                    await connection.ExecuteAsync(
                        hash is null
                            ? $"update {table} set {column} = @resealed where {row} = @rowKey"
                            : $"update {table} set {column} = @resealed, phone_hash = @hash where {row} = @rowKey",
                        new { resealed, hash, rowKey }, transaction);
                }

                await transaction.CommitAsync(cancellationToken);
                after = rows[^1].RowKey;
                total += rows.Count;
                logger.LogInformation("Re-sealed {Count} values of {Table}.{Column} under key {KeyId}", rows.Count, table, column, secrets.ActiveKeyId);
            }
        }

        return total;
    }

    /// <summary>How many stored values each key id still seals (for operators deciding when an old key can go).</summary>
    /// <param name="sealedOnly">Only the sealed values, which rotation re-seals (not the live MACs, which it cannot).</param>
    public async Task<IReadOnlyDictionary<string, long>> CountByKeyAsync(CancellationToken cancellationToken, bool sealedOnly = false)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var counts = new Dictionary<string, long>();
        foreach (var (table, column, _, _, _, _) in Sealed)
        {
            foreach (var (keyId, count) in await connection.QueryAsync<(string, long)>(new CommandDefinition(
                         $"select {KeyIdSql(column)}, count(*) from {table} where {column} is not null group by 1", commandTimeout: NoTimeout,
                         cancellationToken: cancellationToken)))
            {
                counts[keyId] = counts.GetValueOrDefault(keyId) + count;
            }
        }

        foreach (var (_, sql) in sealedOnly ? [] : LiveMacs)
        {
            foreach (var (keyId, count) in await connection.QueryAsync<(string, long)>(sql))
            {
                counts[keyId] = counts.GetValueOrDefault(keyId) + count;
            }
        }

        return counts;
    }
}
