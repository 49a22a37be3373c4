using System.Security.Claims;
using System.Text.Json;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AuthService.Api.Support;

public sealed record ResetRequest(string? Reason, string? Ticket);

public sealed record ResetResponse(bool Reset, bool HadFactor);

public sealed record AuditEventResponse(long Id, string Type, DateTimeOffset OccurredAt, Guid? ApiKeyId, JsonElement Details);

public sealed record AuditEventPage(IReadOnlyList<AuditEventResponse> Items, long? NextBefore);

/// <summary>Support operations (admin scope): the reset that is the only way to remove the last factor (disable 2FA), and the
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
            .WithDescription("For a lost device or a lockout: removes every factor, any pending enrollment or addition, backup codes, codes, lockout and the " +
                             "user's counters. `reason` and `ticket` are required and audited with the acting key.");
        group.MapGet("/events", Events)
            .WithSummary("Audit events of the user, newest first")
            .WithDescription("Paged: `limit` (1–200, default 50) and `before` (the `nextBefore` of the previous page).");
        return routes;
    }

    public static async Task<Results<Ok<ResetResponse>, ProblemHttpResult>> Reset(string userId, ResetRequest request,
        SupportReset reset, ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(await reset.ResetAsync(userId, request, caller.ApiKeyId(), ct));

    public static async Task<Results<Ok<AuditEventPage>, ProblemHttpResult>> Events(string userId, int? limit, long? before,
        AuditTrail trail, CancellationToken ct) =>
        ToOk(await trail.PageAsync(userId, limit, before, ct));

    private static Results<Ok<T>, ProblemHttpResult> ToOk<T>(Result<T> result) =>
        result.Error is { } error ? error.ToResult() : TypedResults.Ok(result.Value);
}
