using static AuthService.Api.Http.ResultAnswers;
using System.Security.Claims;
using System.Text.Json;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.BypassCodes;
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
            .AddEndpointFilter(UserIdFilter.Instance)
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        group.MapPost("/reset", Reset)
            .WithSummary("Support reset")
            .WithDescription("For a lost device or a lockout: removes every factor, any pending enrollment or addition, backup codes, codes, lockout and the " +
                             "user's counters. `reason` and `ticket` are required and audited with the acting key. `hadFactor` says whether the user had 2FA; " +
                             "only then is `two_factor.reset` sent.");
        group.MapPost("/bypass-codes", IssueBypassCode)
            .WithSummary("Issue a bypass code")
            .WithDescription("For a user who lost their factor, instead of a reset: a 9-digit code (`123-456-789`), shown once and stored as a keyed " +
                             "hash, accepted at `/verify` as `bypassCode` and as the `proof` of a change, under the same per-minute limit, lockout and " +
                             "single-use rules as every other code. `reason` (1–500) and `ticket` (1–100) are required and audited with every use " +
                             $"(webhook `two_factor.bypass_code_used`); `uses` {BypassCodeRules.MinUses}–{BypassCodeRules.MaxUses} (default " +
                             $"{BypassCodeRules.DefaultUses}), `validMinutes` {BypassCodeRules.MinValidMinutes}–{BypassCodeRules.MaxValidMinutes} (default " +
                             $"{BypassCodeRules.DefaultValidMinutes}). A user holds at most {BypassCodeRules.MaxLivePerUser} live codes. A reset revokes them. " +
                             "A locked user gets none (423 `locked`): no code opens a lock; a reset does.")
            .ProducesProblemCodes(409, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.BypassCodeLimitReached)
            .ProducesProblemCodes(423, ProblemCodes.Locked);
        group.MapDelete("/bypass-codes", RevokeBypassCodes)
            .WithSummary("Revoke every bypass code of the user")
            .WithDescription("Answers how many live codes were revoked (audited when any). A switch or an addition a bypass code started and " +
                             "that is not yet confirmed is voided with them.");
        group.MapGet("/events", Events)
            .WithSummary("Audit events of the user, newest first")
            .WithDescription($"Paged: `limit` (1–{AuditTrail.MaxPageSize}, default {AuditTrail.DefaultPageSize}) and `before` (the `nextBefore` of the previous page).")
            .ProducesProblemCodes(400, ProblemCodes.ValidationFailed, ProblemCodes.InvalidParameter, ProblemCodes.InvalidUserId);
        return routes;
    }

    public static async Task<Results<JsonOk<ResetResponse>, ProblemHttpResult>> Reset(string userId, ResetRequest request,
        SupportReset reset, ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(await reset.ResetAsync(userId, request, caller.ApiKeyId(), ct));

    public static async Task<Results<Created<BypassCodeResponse>, ProblemHttpResult>> IssueBypassCode(string userId, BypassCodeRequest request,
        BypassCodes codes, ClaimsPrincipal caller, CancellationToken ct)
    {
        var issued = await codes.IssueAsync(userId, request, caller.ApiKeyId(), ct);
        return issued.Error is { } error ? error.ToResult() : TypedResults.Created((string?)null, issued.Value);
    }

    public static async Task<Results<JsonOk<BypassCodesRevokedResponse>, ProblemHttpResult>> RevokeBypassCodes(string userId, BypassCodes codes,
        ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(await codes.RevokeAsync(userId, caller.ApiKeyId(), ct));

    public static async Task<Results<JsonOk<AuditEventPage>, ProblemHttpResult>> Events(string userId, int? limit, long? before,
        AuditTrail trail, CancellationToken ct) =>
        ToOk(await trail.PageAsync(userId, limit, before, ct));
}
