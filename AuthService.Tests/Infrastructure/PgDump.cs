using System.Diagnostics;
using Npgsql;

namespace AuthService.Tests.Infrastructure;

/// <summary>What a thief with the database gets: the whole database as <c>pg_dump</c> writes it.</summary>
public static class PgDump
{
    public static async Task<string> DumpAsync(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo("pg_dump")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "-h", builder.Host!, "-p", builder.Port.ToString(), "-U", builder.Username!, builder.Database! },
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.That(process.ExitCode, Is.Zero, await error);
        return await output;
    }
}
