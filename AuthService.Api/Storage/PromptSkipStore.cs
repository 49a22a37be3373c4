using AuthService.Core.Policy;
using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>SQL of the enrollment prompt: how often a user without a factor skipped it, and the state a login decision reads.</summary>
public static class PromptSkipStore
{
    /// <summary>The user's method, lock and skips, in one statement.</summary>
    public static async Task<UserFactorState> GetLoginStateByUserIdAsync(NpgsqlConnection connection, string userId)
    {
        var state = await connection.QuerySingleAsync<(string? Method, bool? Locked, int Skips)>("""
            select (select method from factors where user_id = @userId order by is_default desc, created_at limit 1) as method,
                   (select locked_at is not null from two_factor_users where user_id = @userId) as locked,
                   coalesce((select skips from prompt_skips where user_id = @userId), 0) as skips
            """, new { userId });
        return new UserFactorState(state.Method, state.Locked == true, state.Skips);
    }

    /// <summary>Counts one skip while skips remain (<paramref name="maxSkips"/> null: unlimited); the new count, or null when
    /// none remained. One statement, so concurrent skips never exceed the maximum.</summary>
    public static Task<int?> TryAddSkipAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, DateTimeOffset now,
        int? maxSkips) =>
        connection.ExecuteScalarAsync<int?>("""
            insert into prompt_skips (user_id, skips, last_at) values (@userId, 1, @now)
            on conflict (user_id) do update set skips = prompt_skips.skips + 1, last_at = @now
            where @maxSkips::int is null or prompt_skips.skips < @maxSkips
            returning skips
            """, new { userId, now, maxSkips }, transaction);
}
