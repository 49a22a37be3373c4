using System.Diagnostics;
using Npgsql;

namespace AuthService.Tests.Infrastructure;

/// <summary>What a thief with the database gets: the whole database as <c>pg_dump</c> writes it.</summary>
public static class PgDump
{
    public static async Task<string> DumpAsync(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo(Executable())
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

    /// <summary><c>pg_dump</c> from where <c>scripts/pg.sh</c> finds the server (<c>$PG_BIN</c>, <c>/usr/lib/postgresql/*/bin</c>,
    /// <c>/usr/local/pgsql/bin</c>), else the PATH: a machine with the server binaries only there has no <c>pg_dump</c> on it.</summary>
    private static string Executable()
    {
        var versioned = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql") // the newest: a pg_dump older than the server refuses it
                .OrderByDescending(d => double.TryParse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin"))
            : [];
        string[] candidates = [.. new[] { Environment.GetEnvironmentVariable("PG_BIN") }.OfType<string>(), .. versioned, "/usr/local/pgsql/bin"];
        return candidates.Select(d => Path.Combine(d, "pg_dump")).FirstOrDefault(File.Exists) ?? "pg_dump";
    }
}
