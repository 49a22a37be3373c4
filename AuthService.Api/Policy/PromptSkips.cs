using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Policy;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Policy;

/// <summary>Records that a user without 2FA skipped the enrollment prompt, while <c>Enforcement:MaxSkips</c> allows it and from
/// the enforcement date on (before it, no decision prompts).</summary>
public sealed class PromptSkips(NpgsqlDataSource dataSource, TimeProvider time, IOptions<EnforcementOptions> enforcement)
{
    /// <summary>The one title of <c>skip_not_allowed</c> (RFC 9457 §3.1.3); the detail says why.</summary>
    private const string SkipRefused = "The enrollment prompt cannot be skipped.";

    public async Task<Result<PromptSkipResponse>> SkipAsync(string userId, Guid? actor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var maxSkips = enforcement.Value.MaxSkips;
        if (!new LoginPolicy(enforcement.Value.StartsAt, maxSkips).Prompts(now))
        {
            // No login decision prompts before the enforcement date, so there is nothing to skip yet; a skip counted now would use
            // up Enforcement:MaxSkips before the user was ever asked.
            return new Problem(409, ProblemCodes.SkipNotAllowed, SkipRefused,
                "Users are prompted to enroll only from the enforcement date (Enforcement:StartsAt).");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await TwoFactorStore.GetUserAsync(connection, transaction, userId) is not null)
        {
            return new Problem(409, ProblemCodes.SkipNotAllowed, SkipRefused, "Two-factor authentication is already enabled.");
        }

        var skips = await PromptSkipStore.TryAddSkipAsync(connection, transaction, userId, now, maxSkips);
        if (skips is null || (maxSkips is { } max && skips > max))
        {
            await transaction.RollbackAsync(cancellationToken);
            return new Problem(409, ProblemCodes.SkipNotAllowed, SkipRefused,
                "The user has used every allowed skip and must enable two-factor authentication.");
        }

        await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.PromptSkipped(skips.Value), now, actor);
        await transaction.CommitAsync(cancellationToken);
        return new PromptSkipResponse(skips.Value, maxSkips is null || skips < maxSkips);
    }
}
