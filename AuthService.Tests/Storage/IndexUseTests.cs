using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>Statements that run under a user's lock on tables that grow with the users reach their rows by an index, not by
/// reading the table (the plan PostgreSQL picks when a sequential scan is made as dear as it can be).</summary>
public class IndexUseTests
{
    /// <summary>Migration 0021: every backup code of a user is deleted at a confirmation, a regeneration and a reset, and the
    /// only index was partial (<c>where used_at is null</c>), which that delete cannot use: it read the whole table.</summary>
    [TestCase("delete from backup_codes where user_id = 'ann'")]
    [TestCase("select count(*) from backup_codes where user_id = 'ann' and used_at is null")]
    public async Task A_users_backup_codes_are_reached_by_index(string statement)
    {
        using var app = new AuthApp();
        _ = app.Services; // starts the host: the migrations have run
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using (var off = new NpgsqlCommand("set enable_seqscan = off", connection))
        {
            await off.ExecuteNonQueryAsync();
        }

        await using var explain = new NpgsqlCommand("explain " + statement, connection);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        Assert.That(string.Join("\n", plan), Does.Not.Contain("Seq Scan").And.Contain("backup_codes_by_user"), string.Join("\n", plan));
    }
}
