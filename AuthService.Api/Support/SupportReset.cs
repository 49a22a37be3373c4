using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.Support;

/// <summary>The support reset, the only way to remove the last factor (disable 2FA): under the user's lock, every factor, any pending
/// enrollment, backup codes, codes, lockout and counters go, audited with the reason, the ticket and the acting key.</summary>
public sealed class SupportReset(NpgsqlDataSource dataSource, TimeProvider time, ILogger<SupportReset> logger)
{
    public async Task<Result<ResetResponse>> ResetAsync(string userId, ResetRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if (!IsText(request.Reason, 500, allowNewlines: true) || !IsText(request.Ticket, 100, allowNewlines: false))
        {
            return Problems.Validation("reason (1–500 characters) and ticket (1–100 characters) are required.");
        }

        var now = time.GetUtcNow();
        var ticket = request.Ticket!.Trim();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await AttemptLedger.LockUserAsync(connection, transaction, userId);
        var hadFactor = await TwoFactorStore.DeleteAllByUserIdAsync(connection, transaction, userId);
        await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.SupportReset(request.Reason!.Trim(), ticket), now, actor);
        await transaction.CommitAsync(cancellationToken);
        logger.LogWarning("Support reset of {UserId} by key {ApiKeyId}, ticket {Ticket}", userId, actor, ticket);
        return new ResetResponse(true, hadFactor);
    }

    /// <summary>Free text for the audit trail; the ticket also goes to the log, so it gets no line breaks.</summary>
    internal static bool IsText(string? value, int max, bool allowNewlines) =>
        !string.IsNullOrWhiteSpace(value) && Core.Text.PrintableText.IsValid(value, max, allowNewlines);
}
