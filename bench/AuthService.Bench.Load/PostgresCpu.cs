using Npgsql;

namespace AuthService.Bench.Load;

/// <summary>CPU time of the whole PostgreSQL cluster (postmaster, every backend and helper, and the children it has
/// already reaped), from /proc. PostgreSQL shares the cores with the service and the client, so its share of the work
/// per request belongs in the profile.</summary>
public sealed class PostgresCpu(int postmasterPid)
{
    /// <summary>Finds the postmaster from the server's data directory; null where /proc or the directory is unreadable.</summary>
    public static async Task<PostgresCpu?> FindAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("show data_directory", connection);
            var directory = (string)(await command.ExecuteScalarAsync())!;
            var pid = int.Parse(File.ReadLines(Path.Combine(directory, "postmaster.pid")).First());
            return new PostgresCpu(pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PostgresException or FormatException)
        {
            return null;
        }
    }

    public TimeSpan CpuTime()
    {
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || Stat(pid) is not { } stat)
            {
                continue;
            }

            if (pid == postmasterPid)
            {
                ticks += stat.User + stat.System + stat.ChildrenUser + stat.ChildrenSystem;
            }
            else if (stat.Parent == postmasterPid)
            {
                ticks += stat.User + stat.System;
            }
        }

        return TimeSpan.FromMilliseconds(ticks * 10); // clock ticks of 10 ms
    }

    private static (int Parent, long User, long System, long ChildrenUser, long ChildrenSystem)? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (int.Parse(fields[1]), long.Parse(fields[11]), long.Parse(fields[12]), long.Parse(fields[13]), long.Parse(fields[14]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
