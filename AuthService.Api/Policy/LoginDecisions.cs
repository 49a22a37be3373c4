using AuthService.Api.Configuration;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core;
using AuthService.Core.Policy;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Policy;

/// <summary>What the portal should do after the first factor (DESIGN §4), decided by <see cref="LoginPolicy"/> on the user's
/// login state.</summary>
public sealed class LoginDecisions(NpgsqlDataSource dataSource, TimeProvider time, IOptions<EnforcementOptions> enforcement,
    Devices.TrustedDevices devices)
{
    public async Task<Result<LoginDecisionResponse>> DecideAsync(LoginDecisionRequest request, CancellationToken cancellationToken)
    {
        if (!UserIds.IsValid(request.UserId))
        {
            return Problems.InvalidUserId;
        }

        if (!LoginMethods.IsKnown(request.LoginMethod))
        {
            return new Problem(400, ProblemCodes.InvalidLoginMethod, "Unknown login method.",
                "loginMethod must be one of: " + string.Join(", ", LoginMethods.All) + ".");
        }

        var policy = new LoginPolicy(enforcement.Value.StartsAt, enforcement.Value.MaxSkips);
        if (LoginMethods.NeverBlocked(request.LoginMethod))
        {
            // Decided without touching storage: these logins are never blocked by the second factor.
            var fixedDecision = policy.Decide(request.LoginMethod!, default, time.GetUtcNow());
            return new LoginDecisionResponse(fixedDecision.Action, null, false, false);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var state = await PromptSkipStore.GetLoginStateByUserIdAsync(connection, request.UserId!);
        var decision = policy.Decide(request.LoginMethod!, state, time.GetUtcNow());
        if (request.DeviceToken is { } token && await devices.TrustsAsync(connection, request.UserId!, token)
            && decision is { Action: LoginDecision.Verify, Locked: false })
        {
            return new LoginDecisionResponse(LoginDecision.None, null, false, false, LoginDecisionResponse.TrustedDevice);
        }

        return new LoginDecisionResponse(decision.Action, decision.Method, decision.CanSkip, decision.Locked);
    }
}
