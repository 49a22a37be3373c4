using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>The writes of an attempt's outcome (DESIGN §8.1), as batch commands so the coalesced TOTP login and the general
/// proof path record exactly the same rows. Every one of them runs under the user's lock (<see cref="TwoFactorStore.LockUserCommand"/>),
/// in the transaction that read the state it was decided on.</summary>
public static class AttemptStore
{
    /// <summary>A failed check: the per-minute ledger, the factor's consecutive count and lock (when the user has a factor),
    /// and the audit event. <paramref name="locksNow"/> adds the lockout's own audit event.</summary>
    public static IEnumerable<NpgsqlBatchCommand> Failure(string userId, bool hasFactor, int lockoutThreshold, bool locksNow,
        int consecutive, DateTimeOffset now, Guid? actor, object details)
    {
        yield return new NpgsqlBatchCommand("insert into verification_failures (user_id, created_at) values (@userId, @now)")
        {
            Parameters = { new NpgsqlParameter<string>("userId", userId), new NpgsqlParameter<DateTimeOffset>("now", now) },
        };
        if (hasFactor)
        {
            yield return new NpgsqlBatchCommand("""
                update factors set failed_consecutive = failed_consecutive + 1, updated_at = @now,
                    locked_at = case when failed_consecutive + 1 >= @threshold then coalesce(locked_at, @now) else locked_at end
                where user_id = @userId
                """)
            {
                Parameters =
                {
                    new NpgsqlParameter<string>("userId", userId), new NpgsqlParameter<DateTimeOffset>("now", now),
                    new NpgsqlParameter<int>("threshold", lockoutThreshold),
                },
            };
        }

        yield return AuditLog.Command(userId, AuditEvents.VerificationFailed, now, actor, details);
        if (locksNow)
        {
            yield return AuditLog.Command(userId, AuditEvents.Locked, now, actor, new { consecutiveFailures = consecutive });
        }
    }

    /// <summary>A request refused by the per-minute limit before anything was checked.</summary>
    public static NpgsqlBatchCommand RateLimited(string userId, DateTimeOffset now, Guid? actor) =>
        AuditLog.Command(userId, AuditEvents.RateLimited, now, actor, new { limit = "attempts_per_minute" });

    /// <summary>Runs <paramref name="commands"/> in <paramref name="transaction"/> as one round trip.</summary>
    public static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<NpgsqlBatchCommand> commands)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var command in commands)
        {
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync();
    }
}
