using static AuthService.Api.Http.ResultAnswers;
using System.Security.Claims;
using AuthService.Api.Http;
using AuthService.Api.Profiles;
using AuthService.Api.Security;
using AuthService.Api.TwoFactor.Passkeys;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AuthService.Api.TwoFactor;

public static partial class TwoFactorApi
{
    /// <summary>Several named factors per user (DESIGN §9.2).</summary>
    private static void MapFactors(RouteGroupBuilder group)
    {
        // As the other descriptions: the configured limits, not numbers of their own.
        var max = ((IEndpointRouteBuilder)group).ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<Configuration.FactorOptions>>().Value;
        group.MapPost("/factors", AddFactor).RequireAuthorization(Scopes.Manage).AcceptsLocale()
            .WithSummary("Add a factor")
            .WithDescription("Another TOTP app, phone or passkey: `method` and its fields as in enroll, an optional `label` (at most 64 printable " +
                             "characters), and once 2FA is enabled a `proof` of an existing factor (as for switch-method; spent only when the pending " +
                             "factor is stored). Answers like enroll, with the `factorId` to confirm at `/factors/{factorId}/confirm`. Without 2FA it is the " +
                             $"first enrollment (no proof). 409 `factor_limit_reached` at the maximum of the method (Factors:MaxTotp {max.MaxTotp}, MaxPhone {max.MaxPhone}, MaxPasskey {max.MaxPasskey}); " +
                             "409 `change_in_progress` as for switch-method.")
            .Produces<PhoneEnrollmentResponse>(202)
            .ProducesProblemCodes(400, TelephonyRequestErrors)
            .ProducesProblemCodes(409, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.FactorLimitReached, ProblemCodes.PasskeyNotEnabled, ProblemCodes.PasskeysNotConfigured, ProblemCodes.FactorChanged, ProblemCodes.TwoFactorAlreadyEnabled, ProblemCodes.ChangeInProgress)
            .ProducesProvedStartProblems();

        group.MapPost("/factors/{factorId:guid}/confirm", ConfirmFactor).RequireAuthorization(Scopes.Manage)
            .WithSummary("Confirm an added factor with its first code")
            .WithDescription("`code`, or `credential` (`RegistrationResponseJSON`) for a passkey. Answers the new factor; `backupCodes` only when " +
                             "this confirmation enabled 2FA (shown once). 404 `factor_not_found` for an unknown or expired pending factor; 409 " +
                             "`factor_limit_reached` when the maximum was reached meanwhile (counted under the user's lock).")
            .ProducesProblemCodes(404, ProblemCodes.FactorNotFound)
            .ProducesProblemCodes(409, ProblemCodes.FactorLimitReached, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.TwoFactorAlreadyEnabled)
            .ProducesProblemCodes(422, ProblemCodes.InvalidCode, ProblemCodes.InvalidPasskey, ProblemCodes.PasskeyChallengeInvalid)
            .ProducesProblemCodes(423, ProblemCodes.Locked)
            .ProducesProblemCodes(429, ProblemCodes.TooManyAttempts)
            .ProducesProblemCodes(503, OpensSecrets);

        group.MapPatch("/factors/{factorId:guid}", UpdateFactor).RequireAuthorization(Scopes.Manage)
            .WithSummary("Rename a factor or make it the default")
            .WithDescription("`label` (at most 64 printable characters) and/or `default: true` (the former default loses the flag). 404 `factor_not_found`.")
            .ProducesProblemCodes(404, ProblemCodes.FactorNotFound)
            .ProducesProblemCodes(409, ProblemCodes.TwoFactorNotEnabled);

        group.MapDelete("/factors/{factorId:guid}", RemoveFactor).RequireAuthorization(Scopes.Manage)
            .WithSummary("Remove a factor")
            .WithDescription("Needs `proof` from another factor (a TOTP code, a phone code or passkey assertion of a `proof` challenge), a backup " +
                             "code or a support `bypassCode`; a code of the factor being removed does not count. Its codes and challenges die with it; if it was the default, the " +
                             "oldest remaining factor becomes the default. 409 `last_factor`: the last factor cannot be removed (2FA cannot be disabled " +
                             "by the user; only a support reset clears it).")
            .ProducesProblemCodes(404, ProblemCodes.FactorNotFound)
            .ProducesProblemCodes(409, ProblemCodes.LastFactor, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.PasskeyNotEnabled, ProblemCodes.FactorChanged)
            .ProducesProblemCodes(422, ProblemCodes.InvalidCode, ProblemCodes.InvalidPasskey, ProblemCodes.PasskeyChallengeInvalid, ProblemCodes.PasskeyCounterRegression)
            .ProducesProblemCodes(423, ProblemCodes.Locked)
            .ProducesProblemCodes(429, ProblemCodes.TooManyAttempts)
            .ProducesProblemCodes(503, OpensSecrets);
    }

    public static async Task<Results<Created<TotpEnrollmentResponse>, Created<PasskeyEnrollmentResponse>, Accepted<PhoneEnrollmentResponse>, ProblemHttpResult>> AddFactor(
        string userId, AddFactorRequest request, Factors factors, ClaimsPrincipal caller, CancellationToken ct) =>
        Started(userId, await factors.AddAsync(userId, request, caller.ApiKeyId(), ct));

    public static async Task<Results<JsonOk<FactorConfirmResponse>, ProblemHttpResult>> ConfirmFactor(
        string userId, Guid factorId, CodeRequest request, ConfirmWithCode confirm, PasskeyEnrollment passkeys, ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(request.Credential is not { } credential ? await confirm.ConfirmAdditionAsync(userId, factorId, request.Code, caller.ApiKeyId(), ct)
            : request.Code is not null ? ChangeProofs.OneProofOnly
            : await passkeys.ConfirmAdditionAsync(userId, factorId, credential, caller.ApiKeyId(), ct));

    public static async Task<Results<JsonOk<FactorView>, ProblemHttpResult>> UpdateFactor(
        string userId, Guid factorId, UpdateFactorRequest request, Factors factors, ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(await factors.UpdateAsync(userId, factorId, request, caller.ApiKeyId(), ct));

    public static async Task<Results<NoContent, ProblemHttpResult>> RemoveFactor(
        string userId, Guid factorId, [FromBody] ProofRequest request, Factors factors, ClaimsPrincipal caller, CancellationToken ct)
    {
        var result = await factors.RemoveAsync(userId, factorId, request.Proof, caller.ApiKeyId(), ct);
        return result.Error is { } error ? error.ToResult() : TypedResults.NoContent();
    }
}
