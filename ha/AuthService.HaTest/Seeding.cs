using AuthService.Core.Security;
using Npgsql;
using NpgsqlTypes;

namespace AuthService.HaTest;

/// <summary>Users as a confirmed enrollment leaves them, written by binary COPY (enrolling tens of thousands through the
/// API would take longer than the test): TOTP factors on the test's long period and SMS phone factors. The same rows
/// as bench/AuthService.Bench.Load/Seeder.cs writes.</summary>
public static class Seeding
{
    public static async Task TotpUsersAsync(string connectionString, SecretBox box, IReadOnlyList<string> userIds,
        IReadOnlyList<byte[]> secrets, int periodSeconds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var now = DateTime.UtcNow;
        await using var writer = await connection.BeginBinaryImportAsync("""
            copy factors (user_id, method, totp_secret, totp_algorithm, totp_digits, totp_period, last_totp_step, enabled_at, updated_at)
            from stdin (format binary)
            """);
        for (var i = 0; i < userIds.Count; i++)
        {
            await writer.StartRowAsync();
            await writer.WriteAsync(userIds[i], NpgsqlDbType.Text);
            await writer.WriteAsync("totp", NpgsqlDbType.Text);
            await writer.WriteAsync(box.Seal(secrets[i], "totp:" + userIds[i]), NpgsqlDbType.Bytea);
            await writer.WriteAsync("SHA1", NpgsqlDbType.Text);
            await writer.WriteAsync(6, NpgsqlDbType.Integer);
            await writer.WriteAsync(periodSeconds, NpgsqlDbType.Integer);
            await writer.WriteAsync(-1L, NpgsqlDbType.Bigint);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        }

        await writer.CompleteAsync();
    }

    public static async Task PhoneUsersAsync(string connectionString, SecretBox box, IReadOnlyList<string> userIds,
        Func<int, string> number)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var now = DateTime.UtcNow;
        await using var writer = await connection.BeginBinaryImportAsync("""
            copy factors (user_id, method, phone_number, phone_hash, phone_masked, enabled_at, updated_at) from stdin (format binary)
            """);
        for (var i = 0; i < userIds.Count; i++)
        {
            var n = number(i);
            await writer.StartRowAsync();
            await writer.WriteAsync(userIds[i], NpgsqlDbType.Text);
            await writer.WriteAsync("phone", NpgsqlDbType.Text);
            await writer.WriteAsync(box.Seal(n, "phone:" + userIds[i]), NpgsqlDbType.Bytea);
            await writer.WriteAsync(box.Mac(box.ActiveKeyId, "phone-lookup", n), NpgsqlDbType.Bytea);
            await writer.WriteAsync($"+1******{n[^4..]}", NpgsqlDbType.Text);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        }

        await writer.CompleteAsync();
    }
}
