using System.Security.Claims;
using System.Text.Json;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Api.Storage;
using AuthService.Core.Security;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using AuthService.Core.Text;

namespace AuthService.Api.Support;

public sealed record ResetRequest(string? Reason, string? Ticket);

public sealed record ResetResponse(bool Reset, bool HadFactor);

public sealed record AuditEventResponse(long Id, string Type, DateTimeOffset OccurredAt, Guid? ApiKeyId, JsonElement Details);

public sealed record AuditEventPage(IReadOnlyList<AuditEventResponse> Items, long? NextBefore);

/// <summary>Support operations (admin scope): the reset that is the only way to remove a second factor, and the
/// user's audit trail.</summary>
public static class SupportApi
{
    public static IEndpointRouteBuilder MapSupport(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/users/{userId}/two-factor")
            .WithTags("Support")
            .RequireAuthorization(Scopes.Admin)
            .AddEndpointFilter<UserIdFilter>()
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        group.MapPost("/reset", Reset)
            .WithSummary("Support reset")
            .WithDescription("For a lost device or a lockout: removes the factor, any pending enrollment, backup codes, codes, lockout and the " +
                             "user's counters. `reason` and `ticket` are required and audited with the acting key.");
        group.MapGet("/events", Events)
            .WithSummary("Audit events of the user, newest first")
            .WithDescription("Paged: `limit` (1–200, default 50) and `before` (the `nextBefore` of the previous page).");
        return routes;
    }

    public static async Task<Results<Ok<ResetResponse>, ProblemHttpResult>> Reset(string userId, ResetRequest request,
        NpgsqlDataSource dataSource, TimeProvider time, ClaimsPrincipal caller, ILoggerFactory loggers, CancellationToken ct)
    {
        if (!IsText(request.Reason, 500, allowNewlines: true) || !IsText(request.Ticket, 100, allowNewlines: false))
        {
            return Problems.Validation("reason (1–500 characters) and ticket (1–100 characters) are required.").ToResult();
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await AttemptLedger.LockUserAsync(connection, transaction, userId);
        var hadFactor = await TwoFactorStore.DeleteAllByUserIdAsync(connection, transaction, userId);
        await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.SupportReset, now, caller.ApiKeyId(),
            new { reason = request.Reason!.Trim(), ticket = request.Ticket!.Trim() });
        await transaction.CommitAsync(ct);
        loggers.CreateLogger("AuthService.Support").LogWarning("Support reset of {UserId} by key {ApiKeyId}, ticket {Ticket}",
            userId, caller.ApiKeyId(), request.Ticket.Trim());
        return TypedResults.Ok(new ResetResponse(true, hadFactor));
    }

    public static async Task<Results<Ok<AuditEventPage>, ProblemHttpResult>> Events(string userId, int? limit, long? before,
        NpgsqlDataSource dataSource, CancellationToken ct)
    {
        var size = limit ?? 50;
        if (size is < 1 or > 200 || before is < 1)
        {
            return Problems.Validation("limit must be 1–200 and before a positive event id.").ToResult();
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var rows = await AuditLog.ListByUserIdAsync(connection, userId, before, size + 1);
        var items = rows.Take(size).Select(r => new AuditEventResponse(r.Id, r.EventType,
            Timestamps.Utc(r.OccurredAt), r.ApiKeyId,
            JsonDocument.Parse(r.Details).RootElement.Clone())).ToList();
        return TypedResults.Ok(new AuditEventPage(items, rows.Count > size ? items[^1].Id : null));
    }

    /// <summary>Free text for the audit trail; the ticket also goes to the log, so it gets no line breaks.</summary>
    private static bool IsText(string? value, int max, bool allowNewlines) =>
        !string.IsNullOrWhiteSpace(value) && PrintableText.IsValid(value, max, allowNewlines);
}
