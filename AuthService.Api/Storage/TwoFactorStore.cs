using AuthService.Core.BackupCodes;
using AuthService.Core.Factors;
using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>The SQL of second factors. Every single-use rule is one conditional statement, so it holds
/// across connections and instances without locks held in the application.</summary>
public static class TwoFactorStore
{
    /// <summary>A factor row with its user's lockout state: select <see cref="FactorColumns"/> from <see cref="FactorsFrom"/>.</summary>
    internal const string FactorColumns = """
        f.user_id, f.factor_id, f.method, f.totp_secret, f.totp_algorithm, f.totp_digits, f.totp_period, f.phone_number, f.phone_hash,
        f.phone_masked, f.channel, f.last_totp_step, f.label, f.created_at, f.last_used_at, f.is_default,
        u.enabled_at, u.failed_consecutive, u.locked_at
        """;

    internal const string FactorsFrom = "factors f join two_factor_users u on u.user_id = f.user_id";

    private const string PendingColumns = """
        user_id, id, purpose, method, totp_secret, totp_algorithm, totp_digits, totp_period,
        phone_number, phone_hash, phone_masked, channel, created_at, expires_at, from_factor_id, label
        """;

    /// <summary>The user's factors and lockout state; null when 2FA is not enabled.</summary>
    public static async Task<UserFactors?> GetUserAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId) =>
        UserFactors.From((await connection.QueryAsync<FactorRow>(
            $"select {FactorColumns} from {FactorsFrom} where f.user_id = @userId", new { userId }, transaction)).AsList());

    /// <summary>The pending enrollment or switch, if any and not expired (an addition is found by its id:
    /// <see cref="GetPendingByIdAsync"/>).</summary>
    public static Task<PendingRow?> GetPendingAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId,
        DateTimeOffset now) =>
        connection.QuerySingleOrDefaultAsync<PendingRow>(
            $"select {PendingColumns} from pending_factors where user_id = @userId and purpose <> 'add' and expires_at > @now",
            new { userId, now }, transaction);

    /// <summary>The user's pending row with this id (any purpose), if not expired.</summary>
    public static Task<PendingRow?> GetPendingByIdAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId, Guid id,
        DateTimeOffset now) =>
        connection.QuerySingleOrDefaultAsync<PendingRow>(
            $"select {PendingColumns} from pending_factors where user_id = @userId and id = @id and expires_at > @now",
            new { userId, id, now }, transaction);

    public static async Task<(UserFactors? User, PendingRow? Pending, int BackupCodesRemaining)> GetStatusAsync(
        NpgsqlConnection connection, string userId, DateTimeOffset now)
    {
        var sql = $"""
            select {FactorColumns} from {FactorsFrom} where f.user_id = @userId;
            select {PendingColumns} from pending_factors where user_id = @userId and purpose <> 'add' and expires_at > @now;
            select count(*)::int from backup_codes where user_id = @userId and used_at is null;
            """;
        await using var results = await connection.QueryMultipleAsync(sql, new { userId, now });
        var user = UserFactors.From((await results.ReadAsync<FactorRow>()).AsList());
        var pending = await results.ReadSingleOrDefaultAsync<PendingRow>();
        var remaining = await results.ReadSingleAsync<int>();
        return (user, pending, remaining);
    }

    /// <summary>Starts a pending row. An enrollment or a switch replaces the user's earlier one (one per user); a slow request
    /// never overwrites a pending row started after it (as for the codes, <see cref="PhoneCodeStore.UpsertCodeAsync"/>). An
    /// addition is a row of its own.</summary>
    public static Task UpsertPendingAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, PendingRow pending)
    {
        const string insert = """
            insert into pending_factors (user_id, id, purpose, method, totp_secret, totp_algorithm, totp_digits, totp_period,
                                         phone_number, phone_hash, phone_masked, channel, created_at, expires_at, from_factor_id, label,
                                         proof_method)
            values (@UserId, @Id, @Purpose, @Method, @TotpSecret, @TotpAlgorithm, @TotpDigits, @TotpPeriod,
                    @PhoneNumber, @PhoneHash, @PhoneMasked, @Channel, @CreatedAt, @ExpiresAt, @FromFactorId, @Label, @ProofMethod)
            """;
        const string replace = """
            on conflict (user_id) where purpose in ('enroll', 'switch') do update set
                id = excluded.id, purpose = excluded.purpose, method = excluded.method,
                totp_secret = excluded.totp_secret, totp_algorithm = excluded.totp_algorithm,
                totp_digits = excluded.totp_digits, totp_period = excluded.totp_period,
                phone_number = excluded.phone_number, phone_hash = excluded.phone_hash,
                phone_masked = excluded.phone_masked, channel = excluded.channel, created_at = excluded.created_at,
                expires_at = excluded.expires_at, from_factor_id = excluded.from_factor_id, label = excluded.label,
                proof_method = excluded.proof_method
            where pending_factors.created_at <= excluded.created_at
            """;
        return connection.ExecuteAsync(pending.Purpose == PendingPurposes.Add ? insert : insert + replace, pending, transaction);
    }

    /// <summary>True when the user has an enrollment or a switch started after <paramref name="pending"/>, which
    /// <see cref="UpsertPendingAsync"/> would keep in its place. Under the user's lock, as every writer of pending rows.</summary>
    public static Task<bool> NewerPendingExistsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending) =>
        connection.ExecuteScalarAsync<bool>("""
            select exists (select 1 from pending_factors
                           where user_id = @UserId and purpose in ('enroll', 'switch') and created_at > @CreatedAt)
            """, new { pending.UserId, pending.CreatedAt }, transaction);

    /// <summary>Deletes the user's switches and additions that a proof of <paramref name="proofMethod"/> started (the rest of the
    /// rule, their codes and challenges, is <c>TwoFactor.PendingFactors.VoidStartedWithAsync</c>'s); how many.</summary>
    public static Task<int> DeletePendingStartedWithAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId,
        string proofMethod) =>
        connection.ExecuteAsync("""
            delete from pending_factors where user_id = @userId and purpose in ('switch', 'add') and proof_method = @proofMethod
            """, new { userId, proofMethod }, transaction);

    /// <summary>Removes exactly this pending row; false when it was replaced or confirmed meanwhile.</summary>
    public static async Task<bool> DeletePendingAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending) =>
        await connection.ExecuteAsync("delete from pending_factors where user_id = @UserId and id = @Id", pending, transaction) == 1;

    /// <summary>Enables 2FA with the confirmed factor as the user's first and default; false when the user already has 2FA.</summary>
    public static async Task<bool> InsertFirstFactorAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        long lastTotpStep, DateTimeOffset now)
    {
        var created = await connection.ExecuteAsync("""
            insert into two_factor_users (user_id, enabled_at, updated_at) values (@userId, @now, @now) on conflict (user_id) do nothing
            """, new { userId = pending.UserId, now }, transaction) == 1;
        if (created)
        {
            await InsertFactorAsync(connection, transaction, pending, lastTotpStep, isDefault: true, now);
        }

        return created;
    }

    /// <summary>Adds the confirmed factor to a user who has 2FA (not as the default).</summary>
    public static Task InsertFactorAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending, long lastTotpStep,
        bool isDefault, DateTimeOffset now) =>
        connection.ExecuteAsync("""
            insert into factors (user_id, factor_id, method, totp_secret, totp_algorithm, totp_digits, totp_period,
                                 phone_number, phone_hash, phone_masked, channel, last_totp_step, label, created_at, updated_at, is_default)
            values (@UserId, @Id, @Method, @TotpSecret, @TotpAlgorithm, @TotpDigits, @TotpPeriod,
                    @PhoneNumber, @PhoneHash, @PhoneMasked, @Channel, @lastTotpStep, @label, @now, @now, @isDefault)
            """, new
        {
            pending.UserId, pending.Id, pending.Method, pending.TotpSecret, pending.TotpAlgorithm, pending.TotpDigits, pending.TotpPeriod,
            pending.PhoneNumber, pending.PhoneHash, pending.PhoneMasked, pending.Channel, lastTotpStep, now, isDefault,
            label = pending.Label ?? FactorLabels.Default(pending.Method, pending.PhoneMasked),
        }, transaction);

    /// <summary>A confirmed switch: the new factor replaces every factor of the user, only while the factor the switch was
    /// proved with (<see cref="PendingRow.FromFactorId"/>) is still the user's and the user is not locked. The old secrets,
    /// numbers and passkeys are gone after this (passkey credentials go with their factor rows).</summary>
    public static async Task<bool> ReplaceAllFactorsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending,
        long lastTotpStep, DateTimeOffset now)
    {
        var replaced = await connection.ExecuteAsync("""
            with allowed as (
                select 1 from two_factor_users u
                where u.user_id = @UserId and u.locked_at is null
                  and (@FromFactorId::uuid is null or exists (select 1 from factors where user_id = @UserId and factor_id = @FromFactorId))
            )
            delete from factors where user_id = @UserId and exists (select 1 from allowed)
            """, new { pending.UserId, pending.FromFactorId }, transaction) > 0;
        if (replaced)
        {
            await AttemptLedger.ResetConsecutiveFailuresAsync(connection, transaction, pending.UserId, now);
            await InsertFactorAsync(connection, transaction, pending, lastTotpStep, isDefault: true, now);
        }

        return replaced;
    }

    /// <summary>How many factors of <paramref name="method"/> the user holds (read under the user's lock, so an addition's
    /// maximum holds when two are confirmed at once).</summary>
    public static Task<int> CountFactorsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, string method) =>
        connection.ExecuteScalarAsync<int>("select count(*)::int from factors where user_id = @userId and method = @method",
            new { userId, method }, transaction);

    /// <summary>Renames a factor and/or makes it the user's default (the former default loses the flag in the same statement
    /// pair). False when the factor is not the user's.</summary>
    public static async Task<bool> UpdateFactorAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, Guid factorId,
        string? label, bool makeDefault, DateTimeOffset now)
    {
        if (makeDefault)
        {
            await connection.ExecuteAsync("""
                update factors set is_default = false, updated_at = @now
                where user_id = @userId and is_default and factor_id <> @factorId
                  and exists (select 1 from factors where user_id = @userId and factor_id = @factorId)
                """, new { userId, factorId, now }, transaction);
        }

        return await connection.ExecuteAsync("""
            update factors set label = coalesce(@label, label), is_default = is_default or @makeDefault, updated_at = @now
            where user_id = @userId and factor_id = @factorId
            """, new { userId, factorId, label, makeDefault, now }, transaction) == 1;
    }

    /// <summary>Removes one factor — its passkey credentials go with it, its live codes and challenges too — and, when it was
    /// the default, makes the oldest remaining factor the default. Run under the user's lock after checking it is not the last.
    /// The answered Idempotency-Keys of that factor go too (a retry picks a factor again), and, for a passkey, those of passkey
    /// options naming no factor (they list its credential); those of the factors that stay, and a claim still being answered,
    /// stay, so a retry of that request replays or waits for its answer instead of sending again (a challenge to a factor
    /// removed meanwhile ends in 409 <c>factor_changed</c>), and a retry of options a browser may be answering gets them again.</summary>
    public static async Task<bool> DeleteFactorAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, Guid factorId,
        DateTimeOffset now)
    {
        var removed = await connection.QuerySingleOrDefaultAsync<(bool IsDefault, string Method)?>(
            "delete from factors where user_id = @userId and factor_id = @factorId returning is_default, method", new { userId, factorId }, transaction);
        if (removed is not { } factor)
        {
            return false;
        }

        await connection.ExecuteAsync("""
            delete from phone_codes where user_id = @userId and factor_id = @factorId;
            delete from passkey_challenges where user_id = @userId and factor_id = @factorId;
            delete from idempotency_keys where user_id = @userId and status is not null
                and (factor_id = @factorId or (factor_id is null and @passkey));
            """, new { userId, factorId, passkey = factor.Method == FactorMethods.Passkey }, transaction);
        if (factor.IsDefault)
        {
            await connection.ExecuteAsync("""
                update factors set is_default = true, updated_at = @now
                where factor_id = (select factor_id from factors where user_id = @userId order by created_at, factor_id limit 1)
                """, new { userId, now }, transaction);
        }

        return true;
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
                update two_factor_users set failed_consecutive = 0, updated_at = @now
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

    /// <summary>A success with <paramref name="factorId"/> resets the user's consecutive-failure count and marks the factor
    /// used. Returns the unused backup-code count.</summary>
    public static Task<int> RecordSuccessAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId, Guid factorId,
        DateTimeOffset now) =>
        connection.ExecuteScalarAsync<int>("""
            with used as (update factors set last_used_at = @now where user_id = @userId and factor_id = @factorId),
                 reset as (update two_factor_users set failed_consecutive = 0, updated_at = @now
                           where user_id = @userId and failed_consecutive <> 0)
            select count(*)::int from backup_codes where user_id = @userId and used_at is null
            """, new { userId, factorId, now }, transaction);

    /// <summary>A support reset: every trace of the user's second factors — factors, pending rows, backup codes, codes, failure
    /// ledger, Idempotency-Keys, prompt skips, passkey challenges (passkeys go with their factors) — and the user's own daily
    /// code budget. The deliveries stay on record for the shared ledgers (the numbers' budgets, the deployment caps): a reset
    /// refunds nothing there. True when 2FA was enabled.</summary>
    public static async Task<bool> DeleteAllByUserIdAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId)
    {
        var hadFactor = await connection.ExecuteAsync("delete from two_factor_users where user_id = @userId", new { userId }, transaction) == 1;
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
