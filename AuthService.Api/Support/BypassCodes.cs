using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using AuthService.Core.BypassCodes;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.Support;

/// <summary>Issue a bypass code: <c>reason</c> and <c>ticket</c> are required; <c>uses</c> 1–10 (default 1),
/// <c>validMinutes</c> 5–4320 (default 60).</summary>
public sealed record BypassCodeRequest(string? Reason, string? Ticket, int? Uses, int? ValidMinutes);

/// <summary>The code, shown once (only its keyed hash is stored), when it expires and how many uses it has.</summary>
public sealed record BypassCodeResponse(string Code, DateTimeOffset ExpiresAt, int Uses);

/// <summary>How many live codes the revocation removed.</summary>
public sealed record BypassCodesRevokedResponse(int Revoked);

/// <summary>Support bypass codes (DESIGN §9.4): issued under the user's lock (so the cap of live codes holds under concurrency),
/// audited with the reason and the ticket; revoked all at once. Their use is a proof (<c>TwoFactor/BypassCodeCheck</c>).</summary>
public sealed class BypassCodes(NpgsqlDataSource dataSource, SecretBox secrets, TimeProvider time, ILogger<BypassCodes> logger)
{
    public async Task<Result<BypassCodeResponse>> IssueAsync(string userId, BypassCodeRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if (!SupportReset.HasReasonAndTicket(request.Reason, request.Ticket))
        {
            return SupportReset.BadReasonOrTicket;
        }

        var uses = request.Uses ?? BypassCodeRules.DefaultUses;
        var validMinutes = request.ValidMinutes ?? BypassCodeRules.DefaultValidMinutes;
        if (BypassCodeRules.InvalidRequest(uses, validMinutes) is { } invalid)
        {
            return Problems.Validation(invalid);
        }

        var now = time.GetUtcNow();
        var ticket = request.Ticket!.Trim();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (user, _) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        if (user is null)
        {
            return Problems.NotEnabled;
        }

        if (user.Locked)
        {
            return Problems.Locked; // the gate refuses every proof of a locked user, this code too; only a reset helps
        }

        if (await BypassCodeStore.CountLiveAsync(connection, transaction, userId, now) >= BypassCodeRules.MaxLivePerUser)
        {
            return Problems.BypassCodeLimitReached(BypassCodeRules.MaxLivePerUser);
        }

        var code = BypassCodeRules.Generate();
        var id = Version7Ids.New(now);
        var expiresAt = now.AddMinutes(validMinutes);
        var hash = BypassCodeRules.Hash(secrets, secrets.ActiveKeyId, userId, id, BypassCodeRules.Normalize(code)!);
        await BypassCodeStore.InsertAsync(connection, transaction, id, userId, secrets.ActiveKeyId, hash, uses, expiresAt, request.Reason!.Trim(),
            ticket, now, actor);
        await AuditLog.AppendAsync(connection, transaction, userId,
            new AuditEvent.BypassCodeIssued(id, uses, expiresAt, request.Reason!.Trim(), ticket), now, actor);
        await transaction.CommitAsync(cancellationToken);
        logger.LogWarning("Bypass code issued for {UserId} by key {ApiKeyId}, ticket {Ticket}", userId, actor, ticket);
        return new BypassCodeResponse(code, expiresAt, uses);
    }

    public async Task<Result<BypassCodesRevokedResponse>> RevokeAsync(string userId, Guid? actor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await AttemptLedger.LockUserAsync(connection, transaction, userId);
        var revoked = await BypassCodeStore.DeleteAllByUserIdAsync(connection, transaction, userId, now);
        // What a bypass code started (a switch or an addition not yet confirmed) goes with the codes: a code given to the wrong
        // person, revoked, confirms nothing it began.
        var voided = await PendingFactors.VoidStartedWithAsync(connection, transaction, userId, BypassCodeRules.Method);
        if (revoked > 0 || voided > 0)
        {
            await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.BypassCodesRevoked(revoked, voided > 0 ? voided : null), now, actor);
        }

        await transaction.CommitAsync(cancellationToken);
        return new BypassCodesRevokedResponse(revoked);
    }
}
