using System.Security.Cryptography;
using AuthService.Core.Security;
using Npgsql;
using NpgsqlTypes;

namespace AuthService.Bench.Load;

/// <summary>Bulk seeding straight into PostgreSQL: enrolling 50k users through the API would take longer than the
/// benchmark. The rows are what a confirmed TOTP enrollment leaves behind, sealed with the service's key ring.</summary>
public static class Seeder
{
    /// <summary>Phone users as a confirmed SMS enrollment leaves them: the number sealed under <c>phone:{userId}</c>, the
    /// keyed lookup hash of the per-number budget, and the masked form.</summary>
    public static async Task SeedPhoneUsersAsync(string connectionString, SecretBox box, IReadOnlyList<string> userIds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var now = DateTime.UtcNow;
        await using var writer = await connection.BeginBinaryImportAsync("""
            copy factors (user_id, method, phone_number, phone_hash, phone_masked, enabled_at, updated_at) from stdin (format binary)
            """);
        for (var i = 0; i < userIds.Count; i++)
        {
            var number = PhoneNumber(i);
            await writer.StartRowAsync();
            await writer.WriteAsync(userIds[i], NpgsqlDbType.Text);
            await writer.WriteAsync("phone", NpgsqlDbType.Text);
            await writer.WriteAsync(box.Seal(number, "phone:" + userIds[i]), NpgsqlDbType.Bytea);
            await writer.WriteAsync(box.Mac(box.ActiveKeyId, "phone-lookup", number), NpgsqlDbType.Bytea);
            await writer.WriteAsync($"+1******{number[^4..]}", NpgsqlDbType.Text);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        }

        await writer.CompleteAsync();
    }

    /// <summary>Distinct valid North American numbers (the 555-01xx style fictional block, several area codes).</summary>
    public static string PhoneNumber(int i) => $"+1{(new[] { 303, 720, 415, 212, 617 })[i / 10_000 % 5]}555{i % 10_000:D4}";

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

    /// <summary>One enabled TOTP factor per user (what TwoFactorService.ConfirmEnrollmentAsync writes) and, when asked,
    /// a full set of unused backup codes, so the remaining-count subquery of verify has rows to count.</summary>
    public static async Task SeedAsync(string connectionString, SecretBox box, IReadOnlyList<string> userIds,
        IReadOnlyList<byte[]> secrets, int backupCodesPerUser)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var now = DateTime.UtcNow;
        await using (var writer = await connection.BeginBinaryImportAsync("""
            copy factors (user_id, method, totp_secret, totp_algorithm, totp_digits, totp_period, last_totp_step, enabled_at, updated_at)
            from stdin (format binary)
            """))
        {
            for (var i = 0; i < userIds.Count; i++)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync(userIds[i], NpgsqlDbType.Text);
                await writer.WriteAsync("totp", NpgsqlDbType.Text);
                await writer.WriteAsync(box.Seal(secrets[i], "totp:" + userIds[i]), NpgsqlDbType.Bytea);
                await writer.WriteAsync("SHA1", NpgsqlDbType.Text);
                await writer.WriteAsync(6, NpgsqlDbType.Integer);
                await writer.WriteAsync(30, NpgsqlDbType.Integer);
                await writer.WriteAsync(-1L, NpgsqlDbType.Bigint);
                await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
                await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            }

            await writer.CompleteAsync();
        }

        if (backupCodesPerUser > 0)
        {
            await using var writer = await connection.BeginBinaryImportAsync(
                "copy backup_codes (user_id, salt, code_hash, created_at) from stdin (format binary)");
            var salt = new byte[16];
            var hash = new byte[32];
            foreach (var userId in userIds)
            {
                for (var c = 0; c < backupCodesPerUser; c++)
                {
                    // Random stand-ins of the right sizes: verify only counts them.
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

        foreach (var table in new[] { "factors", "backup_codes" })
        {
            await using var vacuum = new NpgsqlCommand($"vacuum analyze {table}", connection);
            await vacuum.ExecuteNonQueryAsync();
        }
    }
}
