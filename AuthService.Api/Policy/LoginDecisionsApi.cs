using System.Security.Claims;
using AuthService.Api.Configuration;
using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Api.Storage;
using AuthService.Core;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Policy;

public sealed record LoginDecisionRequest(string? UserId, string? LoginMethod);

public sealed record LoginDecisionResponse(string Action, string? Method, bool CanSkip, bool Locked);

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
                             "`Enforcement:StartsAt` → `enroll_prompt` with `canSkip`.")
            .ProducesProblemCodes(400, ProblemCodes.InvalidLoginMethod, ProblemCodes.InvalidUserId, ProblemCodes.InvalidJson).ProducesProblem(401).ProducesProblem(403);

        routes.MapPost("/v1/users/{userId}/two-factor/prompt/skip", Skip).RequireAuthorization(Scopes.Manage)
            .WithTags("Login policy")
            .AddEndpointFilter<UserIdFilter>()
            .WithSummary("Record that the user skipped the enrollment prompt")
            .WithDescription("409 `skip_not_allowed` once `Enforcement:MaxSkips` is used up, or when 2FA is already enabled.")
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblemCodes(409, ProblemCodes.SkipNotAllowed);
        return routes;
    }

    public static async Task<Results<Ok<LoginDecisionResponse>, ProblemHttpResult>> Decide(LoginDecisionRequest request,
        NpgsqlDataSource dataSource, TimeProvider time, IOptions<EnforcementOptions> enforcement, CancellationToken ct)
    {
        if (!UserIds.IsValid(request.UserId))
        {
            return Problems.InvalidUserId.ToResult();
        }

        if (!LoginMethods.IsKnown(request.LoginMethod))
        {
            return Problems.Result(400, ProblemCodes.InvalidLoginMethod, "Unknown login method.",
                "loginMethod must be one of: " + string.Join(", ", LoginMethods.All) + ".");
        }

        var policy = new LoginPolicy(enforcement.Value.StartsAt, enforcement.Value.MaxSkips);
        if (request.LoginMethod is "api_key" or "sso" or "saml")
        {
            // Decided without touching storage: these logins are never blocked by the second factor.
            var fixedDecision = policy.Decide(request.LoginMethod, default, time.GetUtcNow());
            return TypedResults.Ok(new LoginDecisionResponse(fixedDecision.Action, null, false, false));
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var state = await PromptSkipStore.GetLoginStateByUserIdAsync(connection, request.UserId!);
        var decision = policy.Decide(request.LoginMethod!, state, time.GetUtcNow());
        return TypedResults.Ok(new LoginDecisionResponse(decision.Action, decision.Method, decision.CanSkip, decision.Locked));
    }

    public static async Task<Results<Ok<PromptSkipResponse>, ProblemHttpResult>> Skip(string userId, NpgsqlDataSource dataSource,
        TimeProvider time, IOptions<EnforcementOptions> enforcement, ClaimsPrincipal caller, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var maxSkips = enforcement.Value.MaxSkips;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (await TwoFactorStore.GetUserAsync(connection, transaction, userId) is not null)
        {
            return Problems.Result(409, ProblemCodes.SkipNotAllowed, "Nothing to skip.", "Two-factor authentication is already enabled.");
        }

        var skips = await PromptSkipStore.TryAddSkipAsync(connection, transaction, userId, now, maxSkips);
        if (skips is null || (maxSkips is { } max && skips > max))
        {
            await transaction.RollbackAsync(ct);
            return Problems.Result(409, ProblemCodes.SkipNotAllowed, "The prompt can no longer be skipped.",
                "The user has used every allowed skip and must enable two-factor authentication.");
        }

        await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.PromptSkipped, now, caller.ApiKeyId(), new { skips });
        await transaction.CommitAsync(ct);
        return TypedResults.Ok(new PromptSkipResponse(skips.Value, maxSkips is null || skips < maxSkips));
    }
}
