using System.Security.Claims;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AuthService.Api.Devices;

/// <summary><c>/v1/users/{userId}/two-factor/devices</c>: the user's remembered devices (DESIGN §9.3), listed and revoked with
/// scope <c>manage</c>. A device is remembered by <c>/verify</c> (<c>rememberDevice</c>) and used by <c>/v1/login-decisions</c>
/// (<c>deviceToken</c>), both with scope <c>verify</c>.</summary>
public static class DevicesApi
{
    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/users/{userId}/two-factor/devices")
            .WithTags("Remembered devices")
            .RequireAuthorization(Scopes.Manage)
            .AddEndpointFilter(UserIdFilter.Instance)
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        group.MapGet("", List)
            .WithSummary("The user's remembered devices")
            .WithDescription("Live devices, newest first: `label`, `createdAt`, `lastUsedAt` (the last login decision that trusted it, null until one did; " +
                             "a verify with its token does not mark it), " +
                             "`expiresAt`. Never the token. A device is remembered by `/verify` with `rememberDevice`.");
        group.MapDelete("/{deviceId:guid}", Revoke)
            .WithSummary("Revoke one remembered device")
            .WithDescription("Its token stops working at once (the next login decision asks for the second factor). 404 `device_not_found`.")
            .ProducesProblemCodes(404, ProblemCodes.DeviceNotFound);
        group.MapPost("/revoke-all", RevokeAll)
            .WithSummary("Revoke every remembered device of the user")
            .WithDescription("E.g. on a password change. Answers how many were revoked. A factor removal, a switch, a support reset and a lockout " +
                             "revoke every device too, in the same transaction as that change.");
        return routes;
    }

    public static async Task<Ok<DeviceListResponse>> List(string userId, DeviceManagement devices, CancellationToken ct) =>
        TypedResults.Ok(await devices.ListAsync(userId, ct));

    public static async Task<Results<NoContent, ProblemHttpResult>> Revoke(string userId, Guid deviceId, DeviceManagement devices,
        ClaimsPrincipal caller, CancellationToken ct) =>
        (await devices.RevokeAsync(userId, deviceId, caller.ApiKeyId(), ct)).Error is { } error ? error.ToResult() : TypedResults.NoContent();

    public static async Task<Ok<DevicesRevokedResponse>> RevokeAll(string userId, DeviceManagement devices, ClaimsPrincipal caller,
        CancellationToken ct) =>
        TypedResults.Ok(await devices.RevokeAllAsync(userId, caller.ApiKeyId(), ct));
}
