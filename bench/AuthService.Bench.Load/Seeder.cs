using System.Security.Cryptography;
using AuthService.Core.Security;
using Npgsql;
using NpgsqlTypes;

namespace AuthService.Bench.Load;

/// <summary>Bulk seeding straight into PostgreSQL: enrolling tens of thousands of users through the API would take longer
/// than the bench or the failover test (ha/AuthService.HaTest links this file). The rows are what a confirmed enrollment
/// leaves behind, sealed with the service's key ring under the service's own contexts (<see cref="SealContexts"/>).</summary>
public static class Seeder
{
    public static async Task CreateDatabaseAsync(string adminConnectionString, string database)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using (var drop = new NpgsqlCommand($"drop database if exists {database} with (force)", connection))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await using var create = new NpgsqlCommand($"create database {database}", connection);
        await create.ExecuteNonQueryAsync();
    }

    /// <summary>The bench's users: TOTP factors on the default 30-s period, <paramref name="backupCodesPerUser"/> unused
    /// backup codes each (so the remaining-count subquery of verify has rows to count), then vacuumed and analysed.</summary>
    public static async Task SeedAsync(string connectionString, SecretBox box, IReadOnlyList<string> userIds,
        IReadOnlyList<byte[]> secrets, int backupCodesPerUser)
    {
        await TotpUsersAsync(connectionString, box, userIds, secrets, 30);
        await BackupCodesAsync(connectionString, userIds, backupCodesPerUser);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var table in new[] { "factors", "backup_codes", "two_factor_users" })
        {
            await using (var exists = new NpgsqlCommand($"select to_regclass('{table}') is not null", connection))
            {
                if (!(bool)(await exists.ExecuteScalarAsync())!)
                {
                    continue; // (a baseline build's database from before migration 0008)
                }
            }

            await using var vacuum = new NpgsqlCommand($"vacuum analyze {table}", connection);
            await vacuum.ExecuteNonQueryAsync();
        }
    }

    /// <summary>One enabled TOTP factor per user (what a confirmed TOTP enrollment writes), secret sealed under
    /// <see cref="SealContexts.TotpSecret"/>.</summary>
    public static async Task TotpUsersAsync(string connectionString, SecretBox box, IReadOnlyList<string> userIds,
        IReadOnlyList<byte[]> secrets, int periodSeconds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var now = DateTime.UtcNow;
        var perUser = await UsersAsync(connection, userIds, now);
        await using var writer = await connection.BeginBinaryImportAsync($"""
            copy factors (user_id, method, totp_secret, totp_algorithm, totp_digits, totp_period, last_totp_step, {(perUser ? NewColumns : "enabled_at, updated_at")})
            from stdin (format binary)
            """);
        for (var i = 0; i < userIds.Count; i++)
        {
            await writer.StartRowAsync();
            await writer.WriteAsync(userIds[i], NpgsqlDbType.Text);
            await writer.WriteAsync("totp", NpgsqlDbType.Text);
            await writer.WriteAsync(box.Seal(secrets[i], SealContexts.TotpSecret(userIds[i])), NpgsqlDbType.Bytea);
            await writer.WriteAsync("SHA1", NpgsqlDbType.Text);
            await writer.WriteAsync(6, NpgsqlDbType.Integer);
            await writer.WriteAsync(periodSeconds, NpgsqlDbType.Integer);
            await writer.WriteAsync(-1L, NpgsqlDbType.Bigint);
            await WriteDatesAsync(writer, perUser, "Authenticator app", now);
        }

        await writer.CompleteAsync();
    }

    /// <summary>The columns after a factor's own, from migration 0008 on (several factors per user).</summary>
    private const string NewColumns = "label, created_at, updated_at, is_default";

    /// <summary>From migration 0008 on, 2FA is a row of <c>two_factor_users</c> per user (the lock and lockout) and a factor row
    /// per factor; before it, the factor row was the user's. True when the database has the per-user table (and it was
    /// written); a same-run A/B bench seeds the baseline build's database too, which may be of the earlier shape.</summary>
    private static async Task<bool> UsersAsync(NpgsqlConnection connection, IReadOnlyList<string> userIds, DateTime now)
    {
        await using (var probe = new NpgsqlCommand("select to_regclass('two_factor_users') is not null", connection))
        {
            if (!(bool)(await probe.ExecuteScalarAsync())!)
            {
                return false;
            }
        }

        await using var writer = await connection.BeginBinaryImportAsync(
            "copy two_factor_users (user_id, enabled_at, updated_at) from stdin (format binary)");
        foreach (var userId in userIds)
        {
            await writer.StartRowAsync();
            await writer.WriteAsync(userId, NpgsqlDbType.Text);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        }

        await writer.CompleteAsync();
        return true;
    }

    private static async Task WriteDatesAsync(NpgsqlBinaryImporter writer, bool perUser, string label, DateTime now)
    {
        if (perUser)
        {
            await writer.WriteAsync(label, NpgsqlDbType.Text);
        }

        await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        if (perUser)
        {
            await writer.WriteAsync(true, NpgsqlDbType.Boolean);
        }
    }

    /// <summary>Unused backup-code rows with random salts and hashes of the right sizes: verify only counts them.</summary>
    public static async Task BackupCodesAsync(string connectionString, IReadOnlyList<string> userIds, int perUser)
    {
        if (perUser <= 0)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var now = DateTime.UtcNow;
        await using var writer = await connection.BeginBinaryImportAsync(
            "copy backup_codes (user_id, salt, code_hash, created_at) from stdin (format binary)");
        var salt = new byte[16];
        var hash = new byte[32];
        foreach (var userId in userIds)
        {
            for (var c = 0; c < perUser; c++)
            {
                RandomNumberGenerator.Fill(salt);
                RandomNumberGenerator.Fill(hash);
                await writer.StartRowAsync();
                await writer.WriteAsync(userId, NpgsqlDbType.Text);
                await writer.WriteAsync(salt, NpgsqlDbType.Bytea);
                await writer.WriteAsync(hash, NpgsqlDbType.Bytea);
                await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            }
        }

        await writer.CompleteAsync();
    }

    /// <summary>Phone users as a confirmed SMS enrollment leaves them: the number sealed under
    /// <see cref="SealContexts.PhoneNumber"/>, the keyed lookup hash of the per-number budget, and the masked form.</summary>
    public static async Task PhoneUsersAsync(string connectionString, SecretBox box, IReadOnlyList<string> userIds,
        Func<int, string> number)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var now = DateTime.UtcNow;
        var perUser = await UsersAsync(connection, userIds, now);
        await using var writer = await connection.BeginBinaryImportAsync($"""
            copy factors (user_id, method, phone_number, phone_hash, phone_masked, {(perUser ? NewColumns : "enabled_at, updated_at")}) from stdin (format binary)
            """);
        for (var i = 0; i < userIds.Count; i++)
        {
            var n = number(i);
            await writer.StartRowAsync();
            await writer.WriteAsync(userIds[i], NpgsqlDbType.Text);
            await writer.WriteAsync("phone", NpgsqlDbType.Text);
            await writer.WriteAsync(box.Seal(n, SealContexts.PhoneNumber(userIds[i])), NpgsqlDbType.Bytea);
            await writer.WriteAsync(box.PhoneLookupHash(n), NpgsqlDbType.Bytea);
            await writer.WriteAsync($"+1******{n[^4..]}", NpgsqlDbType.Text);
            await WriteDatesAsync(writer, perUser, $"Phone +1******{n[^4..]}", now);
        }

        await writer.CompleteAsync();
    }

    /// <summary>Distinct valid North American numbers (the 555-01xx style fictional block, several area codes).</summary>
    public static string PhoneNumber(int i) => $"+1{(new[] { 303, 720, 415, 212, 617 })[i / 10_000 % 5]}555{i % 10_000:D4}";
}
