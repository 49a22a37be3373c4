using System.Security.Claims;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AuthService.Api.TwoFactor;

/// <summary><c>/v1/users/{userId}/two-factor</c>: status, enrollment, verification, backup codes.
/// There is deliberately no route that disables two-factor authentication.</summary>
public static class TwoFactorApi
{
    public static RouteGroupBuilder MapTwoFactor(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/users/{userId}/two-factor")
            .WithTags("Two-factor")
            .AddEndpointFilter<UserIdFilter>()
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        group.MapGet("", GetStatus).RequireAuthorization(ApiKeyAuthentication.ReadPolicy)
            .WithSummary("Second-factor status of a user")
            .WithDescription("Whether 2FA is enabled, the method, masked phone number, backup codes left, lockout and any pending enrollment.");

        group.MapPost("/enroll", Enroll).RequireAuthorization(Scopes.Manage)
            .WithSummary("Start enrollment")
            .WithDescription("`totp`: returns the secret, otpauth URI and QR code (201). Enrolling again replaces the pending enrollment. 409 `two_factor_already_enabled` when enabled.")
            .ProducesProblem(409);

        group.MapPost("/enroll/confirm", ConfirmEnrollment).RequireAuthorization(Scopes.Manage)
            .WithSummary("Confirm enrollment with the first code")
            .WithDescription("Enables the factor and returns 10 backup codes: the only time they are ever shown.")
            .ProducesProblem(409).ProducesProblem(422);

        group.MapPost("/verify", Verify).RequireAuthorization(Scopes.Verify)
            .WithSummary("Verify a login code or a backup code")
            .WithDescription("Send exactly one of `code` and `backupCode`. Wrong, expired or already used → 422 `invalid_code`.")
            .ProducesProblem(409).ProducesProblem(422).ProducesProblem(423);

        group.MapGet("/backup-codes", GetBackupCodes).RequireAuthorization(Scopes.Manage)
            .WithSummary("How many backup codes are left")
            .WithDescription("Never returns the codes themselves.");

        group.MapPost("/backup-codes", RegenerateBackupCodes).RequireAuthorization(Scopes.Manage)
            .WithSummary("Replace the backup codes")
            .WithDescription("Needs `proof` (a code of the current factor or a backup code, consumed). Returns a new set of 10, shown once; every older code dies.")
            .ProducesProblem(409).ProducesProblem(422).ProducesProblem(423);

        return group;
    }

    public static async Task<Ok<StatusResponse>> GetStatus(string userId, TwoFactorService service, CancellationToken ct) =>
        TypedResults.Ok(await service.GetStatusAsync(userId, ct));

    public static async Task<Results<Created<TotpEnrollmentResponse>, ProblemHttpResult>> Enroll(
        string userId, EnrollRequest request, TwoFactorService service, ClaimsPrincipal caller, CancellationToken ct)
    {
        if (request.Method != TwoFactorService.Totp)
        {
            return Problems.Validation("method must be 'totp'.").ToResult();
        }

        var result = await service.EnrollTotpAsync(userId, request.AccountName, caller.ApiKeyId(), ct);
        return result.Error is { } error
            ? error.ToResult()
            : TypedResults.Created($"/v1/users/{userId}/two-factor", result.Value);
    }

    public static async Task<Results<Ok<ConfirmResponse>, ProblemHttpResult>> ConfirmEnrollment(
        string userId, CodeRequest request, TwoFactorService service, ClaimsPrincipal caller, CancellationToken ct)
    {
        if (request.Code is null || request.Code.Length > 64)
        {
            return Problems.Validation("code is required (at most 64 characters).").ToResult();
        }

        return ToOk(await service.ConfirmEnrollmentAsync(userId, request.Code, caller.ApiKeyId(), ct));
    }

    public static async Task<Results<Ok<VerifyResponse>, ProblemHttpResult>> Verify(
        string userId, VerifyRequest request, TwoFactorService service, ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(await service.VerifyAsync(userId, request.Code, request.BackupCode, caller.ApiKeyId(), ct));

    public static async Task<Ok<BackupCodesRemainingResponse>> GetBackupCodes(string userId, TwoFactorService service,
        CancellationToken ct) =>
        TypedResults.Ok(new BackupCodesRemainingResponse(await service.BackupCodesRemainingAsync(userId, ct)));

    public static async Task<Results<Created<BackupCodesResponse>, ProblemHttpResult>> RegenerateBackupCodes(
        string userId, ProofRequest request, TwoFactorService service, ClaimsPrincipal caller, CancellationToken ct)
    {
        var result = await service.RegenerateBackupCodesAsync(userId, request.Proof, caller.ApiKeyId(), ct);
        return result.Error is { } error
            ? error.ToResult()
            : TypedResults.Created($"/v1/users/{userId}/two-factor/backup-codes", result.Value);
    }

    private static Results<Ok<T>, ProblemHttpResult> ToOk<T>(Result<T> result) =>
        result.Error is { } error ? error.ToResult() : TypedResults.Ok(result.Value);
}
