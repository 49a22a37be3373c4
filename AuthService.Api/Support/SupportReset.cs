using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.Support;

/// <summary>The support reset, the only way to remove the last factor (disable 2FA): under the user's lock, every factor, any pending
/// enrollment, backup codes, codes, lockout and counters go, audited with the reason, the ticket and the acting key.</summary>
public sealed class SupportReset(NpgsqlDataSource dataSource, TimeProvider time, ILogger<SupportReset> logger)
{
    /// <summary>The longest <c>reason</c> and <c>ticket</c> of a support action (a reset, a bypass code).</summary>
    public const int MaxReasonLength = 500, MaxTicketLength = 100;

    /// <summary>The refusal of a missing, blank or overlong <c>reason</c> or <c>ticket</c>.</summary>
    internal static readonly Problem BadReasonOrTicket = Problems.Validation(
        $"reason (1–{MaxReasonLength} characters) and ticket (1–{MaxTicketLength} characters) are required.");

    /// <summary>Whether <c>reason</c> and <c>ticket</c> are there and within bounds (<see cref="IsText"/>).</summary>
    internal static bool HasReasonAndTicket(string? reason, string? ticket) =>
        IsText(reason, MaxReasonLength, allowNewlines: true) && IsText(ticket, MaxTicketLength, allowNewlines: false);

    public async Task<Result<ResetResponse>> ResetAsync(string userId, ResetRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if (!HasReasonAndTicket(request.Reason, request.Ticket))
        {
            return BadReasonOrTicket;
        }

        var now = time.GetUtcNow();
        var ticket = request.Ticket!.Trim();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await AttemptLedger.LockUserAsync(connection, transaction, userId);
        var hadFactor = await TwoFactorStore.DeleteAllByUserIdAsync(connection, transaction, userId);
        await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.SupportReset(request.Reason!.Trim(), ticket, hadFactor), now, actor);
        await transaction.CommitAsync(cancellationToken);
        logger.LogWarning("Support reset of {UserId} by key {ApiKeyId}, ticket {Ticket}", userId, actor, ticket);
        return new ResetResponse(true, hadFactor);
    }

    /// <summary>Free text for the audit trail; the ticket also goes to the log, so it gets no line breaks. Something in it must
    /// show: a value of only white space and invisible format characters (a zero-width space, a byte order mark) would audit
    /// a support action under a ticket that looks empty.</summary>
    internal static bool IsText(string? value, int max, bool allowNewlines) =>
        Core.Text.PrintableText.HasVisible(value) && Core.Text.PrintableText.IsValid(value, max, allowNewlines);
}
