using AuthService.Core.BackupCodes;
using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

public sealed record FactorRow
{
    public string UserId { get; init; } = "";

    /// <summary>Which secret this is: a new id on every enrollment and switch (the confirmed pending row's id).</summary>
    public Guid FactorId { get; init; }

    public string Method { get; init; } = "";
    public byte[]? TotpSecret { get; init; }
    public string? TotpAlgorithm { get; init; }
    public int? TotpDigits { get; init; }
    public int? TotpPeriod { get; init; }
    public byte[]? PhoneNumber { get; init; }
    public byte[]? PhoneHash { get; init; }
    public string? PhoneMasked { get; init; }
    public long LastTotpStep { get; init; }
    public DateTime EnabledAt { get; init; }
    public int FailedConsecutive { get; init; }
    public DateTime? LockedAt { get; init; }

    /// <summary>Failed attempts inside the per-minute window, oldest first; read only by the optimistic login read
    /// (<see cref="TwoFactorStore.GetFactorsWithFailuresAsync"/>; null elsewhere).</summary>
    public DateTime[]? RecentFailures { get; init; }
}

public sealed record PendingRow
{
    public string UserId { get; init; } = "";
    public Guid Id { get; init; }
    public string Purpose { get; init; } = "";
    public string Method { get; init; } = "";
    public byte[]? TotpSecret { get; init; }
    public string? TotpAlgorithm { get; init; }
    public int? TotpDigits { get; init; }
    public int? TotpPeriod { get; init; }
    public byte[]? PhoneNumber { get; init; }
    public byte[]? PhoneHash { get; init; }
    public string? PhoneMasked { get; init; }
    public string? Channel { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; init; }

    /// <summary>A switch: the factor it replaces (the one its proof was checked against); null for an enrollment.</summary>
    public Guid? FromFactorId { get; init; }
}

public sealed class BackupCodeRow
{
    public long Id { get; init; }
    public byte[] Salt { get; init; } = [];
    public byte[] CodeHash { get; init; } = [];
    public int Iterations { get; init; }
}

/// <summary>The SQL of second factors. Every single-use rule is one conditional statement, so it holds
/// across connections and instances without locks held in the application.</summary>
public static class TwoFactorStore
{
    internal const string FactorColumns = """
        user_id, factor_id, method, totp_secret, totp_algorithm, totp_digits, totp_period, phone_number, phone_hash, phone_masked,
        last_totp_step, enabled_at, failed_consecutive, locked_at
        """;

    private const string PendingColumns = """
        user_id, id, purpose, method, totp_secret, totp_algorithm, totp_digits, totp_period,
        phone_number, phone_hash, phone_masked, channel, created_at, expires_at, from_factor_id
        """;

    public static Task<FactorRow?> GetFactorAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId) =>
        connection.QuerySingleOrDefaultAsync<FactorRow>(
            $"select {FactorColumns} from factors where user_id = @userId", new { userId }, transaction);


    /// <summary>The pending enrollment or switch, if any and not expired.</summary>
    public static Task<PendingRow?> GetPendingAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId,
        DateTimeOffset now) =>
        connection.QuerySingleOrDefaultAsync<PendingRow>(
            $"select {PendingColumns} from pending_factors where user_id = @userId and expires_at > @now",
            new { userId, now }, transaction);

    public static async Task<(FactorRow? Factor, PendingRow? Pending, int BackupCodesRemaining)> GetStatusAsync(
        NpgsqlConnection connection, string userId, DateTimeOffset now)
    {
        var sql = $"""
            select {FactorColumns} from factors where user_id = @userId;
            select {PendingColumns} from pending_factors where user_id = @userId and expires_at > @now;
            select count(*)::int from backup_codes where user_id = @userId and used_at is null;
            """;
        await using var results = await connection.QueryMultipleAsync(sql, new { userId, now });
        var factor = await results.ReadSingleOrDefaultAsync<FactorRow>();
        var pending = await results.ReadSingleOrDefaultAsync<PendingRow>();
        var remaining = await results.ReadSingleAsync<int>();
        return (factor, pending, remaining);
    }

    /// <summary>Starts (or replaces) the user's pending enrollment or switch. A slow request never overwrites a pending
    /// row started after it (as for the codes, <see cref="PhoneCodeStore.UpsertCodeAsync"/>).</summary>
    public static Task UpsertPendingAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, PendingRow pending)
    {
        const string sql = """
            insert into pending_factors (user_id, id, purpose, method, totp_secret, totp_algorithm, totp_digits, totp_period,
                                         phone_number, phone_hash, phone_masked, channel, created_at, expires_at, from_factor_id)
            values (@UserId, @Id, @Purpose, @Method, @TotpSecret, @TotpAlgorithm, @TotpDigits, @TotpPeriod,
                    @PhoneNumber, @PhoneHash, @PhoneMasked, @Channel, @CreatedAt, @ExpiresAt, @FromFactorId)
            on conflict (user_id) do update set
                id = excluded.id, purpose = excluded.purpose, method = excluded.method,
                totp_secret = excluded.totp_secret, totp_algorithm = excluded.totp_algorithm,
                totp_digits = excluded.totp_digits, totp_period = excluded.totp_period,
                phone_number = excluded.phone_number, phone_hash = excluded.phone_hash,
                phone_masked = excluded.phone_masked, channel = excluded.channel, created_at = excluded.created_at,
                expires_at = excluded.expires_at, from_factor_id = excluded.from_factor_id
            where pending_factors.created_at <= excluded.created_at
            """;
        return connection.ExecuteAsync(sql, pending, transaction);
    }

    /// <summary>Removes exactly this pending row; false when it was replaced or confirmed meanwhile.</summary>
    public static async Task<bool> DeletePendingAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending) =>
        await connection.ExecuteAsync("delete from pending_factors where user_id = @UserId and id = @Id", pending, transaction) == 1;

    /// <summary>Creates the factor from a confirmed enrollment; false when the user already has one.</summary>
    public static async Task<bool> InsertFactorAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        long lastTotpStep, DateTimeOffset now)
    {
        const string sql = """
            insert into factors (user_id, factor_id, method, totp_secret, totp_algorithm, totp_digits, totp_period,
                                 phone_number, phone_hash, phone_masked, last_totp_step, enabled_at, updated_at)
            values (@UserId, @Id, @Method, @TotpSecret, @TotpAlgorithm, @TotpDigits, @TotpPeriod,
                    @PhoneNumber, @PhoneHash, @PhoneMasked, @lastTotpStep, @now, @now)
            on conflict (user_id) do nothing
            """;
        return await connection.ExecuteAsync(sql, new
        {
            pending.UserId, pending.Id, pending.Method, pending.TotpSecret, pending.TotpAlgorithm, pending.TotpDigits, pending.TotpPeriod,
            pending.PhoneNumber, pending.PhoneHash, pending.PhoneMasked, lastTotpStep, now,
        }, transaction) == 1;
    }

    /// <summary>Moves an enabled factor to the confirmed new method, only while it is still the factor the switch was started
    /// from (<see cref="PendingRow.FromFactorId"/>) and not locked; the old secret or number is gone after this.</summary>
    public static async Task<bool> ReplaceFactorAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        long lastTotpStep, DateTimeOffset now)
    {
        const string sql = """
            update factors set factor_id = @Id, method = @Method, totp_secret = @TotpSecret, totp_algorithm = @TotpAlgorithm,
                totp_digits = @TotpDigits, totp_period = @TotpPeriod, phone_number = @PhoneNumber, phone_hash = @PhoneHash,
                phone_masked = @PhoneMasked, last_totp_step = @lastTotpStep, failed_consecutive = 0, updated_at = @now
            where user_id = @UserId and factor_id = @FromFactorId and locked_at is null
            """;
        return await connection.ExecuteAsync(sql, new
        {
            pending.UserId, pending.Id, pending.Method, pending.TotpSecret, pending.TotpAlgorithm, pending.TotpDigits, pending.TotpPeriod,
            pending.PhoneNumber, pending.PhoneHash, pending.PhoneMasked, lastTotpStep, now, pending.FromFactorId,
        }, transaction) == 1;
    }

    public static async Task<IReadOnlyList<BackupCodeRow>> GetUnusedBackupCodesAsync(NpgsqlConnection connection,
        NpgsqlTransaction? transaction, string userId) =>
        (await connection.QueryAsync<BackupCodeRow>(
            "select id, salt, code_hash, iterations from backup_codes where user_id = @userId and used_at is null order by id",
            new { userId }, transaction)).AsList();

    /// <summary>Marks one backup code used, once. Returns the remaining count, or null when it was used meanwhile.</summary>
    public static Task<int?> TryUseBackupCodeAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId,
        long codeId, DateTimeOffset now)
    {
        const string sql = """
            with used as (
                update backup_codes set used_at = @now
                where id = @codeId and user_id = @userId and used_at is null
                returning id
            ), reset as (
                update factors set failed_consecutive = 0, updated_at = @now
                where user_id = @userId and exists (select 1 from used)
            )
            select (select count(*)::int from backup_codes where user_id = @userId and used_at is null) - 1
            from used
            """;
        return connection.QuerySingleOrDefaultAsync<int?>(sql, new { userId, codeId, now }, transaction);
    }

    /// <summary>All earlier codes die; the new set is the only one that works.</summary>
    public static Task<int> CountUnusedBackupCodesAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId) =>
        connection.ExecuteScalarAsync<int>("select count(*)::int from backup_codes where user_id = @userId and used_at is null", new { userId },
            transaction);

    public static async Task ReplaceBackupCodesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId,
        IReadOnlyList<BackupCodeHash> hashes, DateTimeOffset now)
    {
        await connection.ExecuteAsync("delete from backup_codes where user_id = @userId", new { userId }, transaction);
        await connection.ExecuteAsync(
            """
            insert into backup_codes (user_id, salt, code_hash, iterations, created_at)
            select @userId, s, h, i, @now from unnest(@salts, @hashes, @iterations) as t(s, h, i)
            """,
            new
            {
                userId, now, salts = hashes.Select(h => h.Salt).ToArray(), hashes = hashes.Select(h => h.Hash).ToArray(),
                iterations = hashes.Select(h => h.Iterations).ToArray(),
            }, transaction);
    }

    /// <summary>A success resets the consecutive-failure count. Returns the unused backup-code count.</summary>
    public static Task<int> ResetFailuresAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId, DateTimeOffset now) =>
        connection.ExecuteScalarAsync<int>("""
            update factors set failed_consecutive = 0, updated_at = @now where user_id = @userId
            returning (select count(*)::int from backup_codes where user_id = @userId and used_at is null)
            """, new { userId, now }, transaction);

    /// <summary>A support reset: every trace of the user's second factor — factor, pending row, backup codes, codes, failure
    /// ledger, Idempotency-Keys, prompt skips, passkey challenges (passkeys go with the factor) — and the user's own daily code
    /// budget. The deliveries stay on record for the shared ledgers (the numbers' budgets, the deployment caps): a reset
    /// refunds nothing there. True when a factor existed.</summary>
    public static async Task<bool> DeleteAllByUserIdAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId)
    {
        var hadFactor = await connection.ExecuteAsync("delete from factors where user_id = @userId", new { userId }, transaction) == 1;
        await connection.ExecuteAsync("""
            delete from pending_factors where user_id = @userId;
            delete from backup_codes where user_id = @userId;
            delete from phone_codes where user_id = @userId;
            delete from verification_failures where user_id = @userId;
            update deliveries set user_budget = false where user_id = @userId and user_budget;
            delete from idempotency_keys where user_id = @userId;
            delete from prompt_skips where user_id = @userId;
            delete from passkey_challenges where user_id = @userId;
            """, new { userId }, transaction);
        return hadFactor;
    }

    /// <summary>A switch drops the user's Idempotency-Keys: an answer stored for the old factor is never replayed for the new.</summary>
    public static Task DeleteIdempotencyKeysAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId) =>
        connection.ExecuteAsync("delete from idempotency_keys where user_id = @userId", new { userId }, transaction);
}
