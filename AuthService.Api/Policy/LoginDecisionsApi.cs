using static AuthService.Api.Http.ResultAnswers;
using System.Security.Claims;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AuthService.Api.Policy;

/// <summary><c>deviceToken</c>: the remembered device's token the portal holds for this browser, if any (DESIGN §9.3).</summary>
public sealed record LoginDecisionRequest(string? UserId, string? LoginMethod, string? DeviceToken = null);

/// <summary><c>reason</c> <c>trusted_device</c> when a remembered device of the user skips the second step.</summary>
public sealed record LoginDecisionResponse(string Action, string? Method, bool CanSkip, bool Locked,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    string? Reason = null)
{
    /// <summary>The one <c>reason</c>: a remembered device of the user turned <c>verify</c> into <c>none</c>.</summary>
    public const string TrustedDevice = "trusted_device";
}

public sealed record PromptSkipResponse(int Skips, bool CanSkipAgain);

/// <summary>The login policy (DESIGN §4) and the enrollment prompt a user may skip.</summary>
public static class LoginDecisionsApi
{
    public static IEndpointRouteBuilder MapLoginPolicy(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/login-decisions", Decide).RequireAuthorization(Scopes.Verify)
            .WithTags("Login policy")
            .WithSummary("What the portal should do after the first factor")
            .WithDescription("`loginMethod`: `password`, `oauth`, `sso`, `saml` or `api_key`. `api_key` → `none` always (API requests are never " +
                             "blocked, even when locked); `sso`/`saml` → `none`; `password`/`oauth` with 2FA → `verify`; without 2FA from " +
                             "`Enforcement:StartsAt` → `enroll_prompt` with `canSkip`. Optional `deviceToken` (from a `/verify` with `rememberDevice`): a live " +
                             "device of this user turns `verify` into `none` with `reason` `trusted_device` and marks it used; any other token (unknown, " +
                             "expired, revoked, another user's) gives the normal decision, indistinguishable in answer and timing.")
            .ProducesProblemCodes(400, ProblemCodes.InvalidLoginMethod, ProblemCodes.InvalidUserId, ProblemCodes.InvalidJson).ProducesProblem(401).ProducesProblem(403);

        routes.MapPost("/v1/users/{userId}/two-factor/prompt/skip", Skip).RequireAuthorization(Scopes.Manage)
            .WithTags("Login policy")
            .AddEndpointFilter(UserIdFilter.Instance)
            .WithSummary("Record that the user skipped the enrollment prompt")
            .WithDescription("409 `skip_not_allowed` before `Enforcement:StartsAt` (nobody is prompted yet), once `Enforcement:MaxSkips` is used up, or when " +
                             "2FA is already enabled.")
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblemCodes(409, ProblemCodes.SkipNotAllowed);
        return routes;
    }

    public static async Task<Results<JsonOk<LoginDecisionResponse>, ProblemHttpResult>> Decide(LoginDecisionRequest request,
        LoginDecisions decisions, CancellationToken ct) =>
        ToOk(await decisions.DecideAsync(request, ct));

    public static async Task<Results<JsonOk<PromptSkipResponse>, ProblemHttpResult>> Skip(string userId, PromptSkips skips,
        ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(await skips.SkipAsync(userId, caller.ApiKeyId(), ct));
}
