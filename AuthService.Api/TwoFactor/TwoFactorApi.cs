using static AuthService.Api.Http.ResultAnswers;
using Microsoft.Extensions.Options;
using AuthService.Api.Telephony;
using AuthService.Api.Configuration;
using System.Security.Claims;
using AuthService.Api.Http;
using AuthService.Api.TwoFactor.Passkeys;
using AuthService.Api.Security;
using AuthService.Api.Profiles;
using AuthService.Core.Factors;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AuthService.Api.TwoFactor;

/// <summary><c>/v1/users/{userId}/two-factor</c>: status, enrollment, challenges, verification, method switch and
/// backup codes; the several named factors in <c>TwoFactorApi.Factors.cs</c> (the same class, so the operation ids stay
/// <c>TwoFactor_…</c>). There is deliberately no route that disables two-factor authentication.</summary>
public static partial class TwoFactorApi
{
    /// <summary>The stage a login's proofs are audited under.</summary>
    public const string LoginStage = "login";

    /// <summary>The 400 codes of the routes that take a phone number (DESIGN §8.2 adds <c>destination_not_allowed</c>).</summary>
    private static readonly string[] TelephonyRequestErrors =
        [ProblemCodes.ValidationFailed, ProblemCodes.InvalidJson, ProblemCodes.InvalidUserId, ProblemCodes.InvalidPhoneNumber, ProblemCodes.DestinationNotAllowed];
    /// <summary>The 403 and 503 codes of the routes that send a code (issue 25 adds the number check's).</summary>
    private static readonly string[] SendForbidden = [ProblemCodes.Forbidden, ProblemCodes.NumberRisk],
        SendUnavailable = [ProblemCodes.TelephonyUnavailable, ProblemCodes.TelephonyCapped, ProblemCodes.NumberLookupUnavailable, ProblemCodes.DatabaseUnavailable];
    /// <summary>The 503 codes of a route that opens a sealed secret of the user: a proof or confirmation checked against a stored
    /// TOTP secret, phone code or bypass code (<see cref="ProofCheck.CheckGatedAsync{T}"/>), or a challenge that opens the phone
    /// number. A key missing from this instance's ring (or an unknown stored TOTP algorithm) answers 503
    /// <c>secret_unavailable</c>, from the proof pipeline or from <see cref="ErrorHandling"/>.</summary>
    private static readonly string[] OpensSecrets = [ProblemCodes.DatabaseUnavailable, ProblemCodes.SecretUnavailable];

    /// <summary>The answers a start proved by a code shares (switch-method, add-factor: the proof's refusals, then the send's), beside
    /// its own 202, 400 and 409s.</summary>
    private static RouteHandlerBuilder ProducesProvedStartProblems(this RouteHandlerBuilder route) => route
        .ProducesProblemCodes(422, ProblemCodes.InvalidCode, ProblemCodes.InvalidPasskey, ProblemCodes.PasskeyChallengeInvalid, ProblemCodes.PasskeyCounterRegression)
        .ProducesProblemCodes(423, ProblemCodes.Locked)
        .ProducesProblemCodes(429, ProblemCodes.TooManyAttempts, ProblemCodes.DailyLimitExceeded)
        .ProducesProblemCodes(502, ProblemCodes.TelephonyUnavailable, ProblemCodes.TelephonyOutcomeUnknown)
        .ProducesProblemCodes(403, SendForbidden).ProducesProblemCodes(503, SendUnavailable).ProducesProblemCodes(503, OpensSecrets);

    public static RouteGroupBuilder MapTwoFactor(this IEndpointRouteBuilder routes)
    {
        // The descriptions quote the configured limits (the defaults in openapi.yaml), never numbers of their own.
        var limits = routes.ServiceProvider.GetRequiredService<IOptions<LimitsOptions>>().Value;
        var unconfirmedDaily = routes.ServiceProvider.GetRequiredService<TelephonyControls>().UnconfirmedNumberDaily;
        var passkeyMinutes = $"{PasskeyOptions.ChallengeLifetime.TotalMinutes:0} minutes";
        var group = routes.MapGroup("/v1/users/{userId}/two-factor")
            .WithTags("Two-factor")
            .AddEndpointFilter(UserIdFilter.Instance)
            .AddEndpointFilter(RetryAfterHeaderFilter.Instance)
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        group.MapGet("", GetStatus).RequireAuthorization(ApiKeyAuthentication.ReadPolicy)
            .WithSummary("Second-factor status of a user")
            .WithDescription("Whether 2FA is enabled, the method, masked phone number, backup codes left, lockout and any pending enrollment or switch. Scopes: verify, manage.");

        group.MapPost("/enroll", Enroll).RequireAuthorization(Scopes.Manage).AcceptsLocale()
            .WithSummary("Start enrollment")
            .WithDescription("`totp`: 201 with the secret, otpauth URI and QR code. `phone`: 202, a code is sent by `sms` or `call`. " +
                             $"`passkey` (with `accountName`, `displayName`): 201 with WebAuthn `PublicKeyCredentialCreationOptionsJSON` valid {passkeyMinutes}. " +
                             "Enrolling again replaces the pending enrollment; of two enrollments in flight the later stands and the earlier answers 409 " +
                             "`factor_changed`. 409 `two_factor_already_enabled` when enabled (use switch-method). " +
                             $"429 `daily_limit_exceeded` past the daily code budget ({unconfirmedDaily} a day for a number nobody enrolling it has confirmed); " +
                             "400 `destination_not_allowed` for premium-rate, satellite and other refused numbers or countries; " +
                             "502/503 `telephony_unavailable` when the provider surely did not send; 502 `telephony_outcome_unknown` when it may have " +
                             "(the code works if it arrives); 503 `telephony_capped` at a deployment-wide cap. The number check (Telnyx Number Lookup): 403 " +
                             "`number_risk` for a VoIP or recently ported number the profile refuses; 503 `number_lookup_unavailable` when it cannot be made (FailMode closed).")
            .Produces<PhoneEnrollmentResponse>(202)
            .ProducesProblemCodes(400, TelephonyRequestErrors)
            .ProducesProblemCodes(409, ProblemCodes.TwoFactorAlreadyEnabled, ProblemCodes.PasskeysNotConfigured, ProblemCodes.FactorChanged)
            .ProducesProblemCodes(429, ProblemCodes.DailyLimitExceeded)
            .ProducesProblemCodes(502, ProblemCodes.TelephonyUnavailable, ProblemCodes.TelephonyOutcomeUnknown)
            .ProducesProblemCodes(403, SendForbidden).ProducesProblemCodes(503, SendUnavailable);

        group.MapPost("/enroll/confirm", ConfirmEnrollment).RequireAuthorization(Scopes.Manage)
            .WithSummary("Confirm enrollment with the first code")
            .WithDescription("`code`, or for a passkey `credential` (the `RegistrationResponseJSON` of `navigator.credentials.create()`). " +
                             $"Enables the factor and returns {Core.BackupCodes.BackupCodeSet.DefaultCount} backup codes: the only time they are ever shown. " +
                             "422 `invalid_code` / `invalid_passkey` (wrong origin, RP ID, malformed) / `passkey_challenge_invalid` (unknown, used or " +
                             "expired challenge: enroll again); 409 `no_pending_enrollment`; 429 `too_many_attempts`.")
            .ProducesProblemCodes(409, ProblemCodes.NoPendingEnrollment, ProblemCodes.TwoFactorAlreadyEnabled)
            .ProducesProblemCodes(422, ProblemCodes.InvalidCode, ProblemCodes.InvalidPasskey, ProblemCodes.PasskeyChallengeInvalid)
            .ProducesProblemCodes(429, ProblemCodes.TooManyAttempts)
            .ProducesProblemCodes(503, OpensSecrets);

        group.MapPost("/challenge", Challenge).RequireAuthorization(Scopes.Verify).AcceptsLocale()
            .WithSummary("Send a code to a phone user, or get passkey request options, for a login or a proof")
            .WithDescription("`channel` is `sms` or `call` (202; the previous code of that purpose dies), or `passkey` (200 with WebAuthn " +
                             $"`PublicKeyCredentialRequestOptionsJSON`, single use, {passkeyMinutes}; the previous challenge of that purpose dies). " +
                             "`purpose` is `login` (default: the code or assertion is accepted only at `verify`) or `proof` (accepted only as the `proof` " +
                             "of a change: switch-method, backup-codes, adding or removing a factor). A code is bound to the factor it was sent for: if the factor is switched or reset while " +
                             "the provider answers, it is not kept (409 `factor_changed`). Optional `Idempotency-Key` " +
                             "header for phone codes: a retry with the same key sends nothing and returns the first answer; the same key with another " +
                             "request (channel, purpose, API key or factor) → 422 `idempotency_key_reused`. For a `passkey` challenge the same key " +
                             "returns the first options (nothing new is issued, the challenge the browser may be answering stays); without a key " +
                             "each call issues new options and the previous challenge of that purpose dies. " +
                             "Optional `factorId`: the phone or passkey factor to challenge (default: the default factor if it is a phone, else the oldest phone; " +
                             "for `passkey` every passkey of the user); 404 `factor_not_found` when it is not the user's. " +
                             "409 `no_challenge_for_method` when the channel does not fit the user's factors (TOTP users never need one). " +
                             "400 `destination_not_allowed` when the number's country is not enabled for the channel; 502 `telephony_outcome_unknown` " +
                             "when the provider may have sent the code (it works if it arrives); 503 `telephony_capped` at a deployment-wide cap.")
            .ProducesProblemCodes(400, ProblemCodes.ValidationFailed, ProblemCodes.InvalidJson, ProblemCodes.InvalidUserId, ProblemCodes.DestinationNotAllowed)
            .ProducesProblemCodes(404, ProblemCodes.FactorNotFound)
            .ProducesProblemCodes(409, ProblemCodes.NoChallengeForMethod, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.IdempotencyKeyInUse, ProblemCodes.PasskeysNotConfigured, ProblemCodes.FactorChanged)
            .ProducesProblemCodes(422, ProblemCodes.IdempotencyKeyReused)
            .ProducesProblemCodes(423, ProblemCodes.Locked)
            .ProducesProblemCodes(429, ProblemCodes.DailyLimitExceeded)
            .ProducesProblemCodes(502, ProblemCodes.TelephonyUnavailable, ProblemCodes.TelephonyOutcomeUnknown)
            .ProducesProblemCodes(403, SendForbidden).ProducesProblemCodes(503, SendUnavailable).ProducesProblemCodes(503, OpensSecrets);

        group.MapPost("/verify", Verify).RequireAuthorization(Scopes.Verify)
            .WithSummary("Verify a login code, a passkey assertion or a backup code")
            .WithDescription("Send exactly one of `code`, `backupCode` and `credential` (a passkey's `AuthenticationResponseJSON` answering the " +
                             "options of a `login` challenge) or `bypassCode` (issued by support: `POST …/bypass-codes`). Only a code of one of the user's factors counts, by the method that issued it: a TOTP code " +
                             "is checked against every TOTP factor (each with its own replay guard), a phone code only if it was sent by a `login` " +
                             "challenge for one of the user's phone factors; the answer's `factorId` names the factor that matched (none for a backup " +
                             "code). Wrong, expired or already used code → 422 " +
                             "`invalid_code`. Passkey: 422 `invalid_passkey` " +
                             "(another origin or RP ID, unknown credential, bad signature), `passkey_challenge_invalid` (unknown, used or expired " +
                             "challenge), `passkey_counter_regression` (possible cloned authenticator, audited). Every refusal counts: " +
                             $"429 `too_many_attempts` after {limits.AttemptsPerMinute} failures in a minute; 423 `locked` after {limits.LockoutThreshold} consecutive failures. " +
                             "Optional `rememberDevice` {label}: a 200 then carries `deviceToken` (shown once) and `expiresAt`; not with a `bypassCode` " +
                             "(400 `validation_failed`, nothing spent: a support bypass is temporary, a remembered browser would outlive it); " +
                             "optional `deviceToken`: see Remembered devices.")
            .ProducesProblemCodes(409, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.PasskeyNotEnabled)
            .ProducesProblemCodes(422, ProblemCodes.InvalidCode, ProblemCodes.InvalidPasskey, ProblemCodes.PasskeyChallengeInvalid, ProblemCodes.PasskeyCounterRegression)
            .ProducesProblemCodes(423, ProblemCodes.Locked)
            .ProducesProblemCodes(429, ProblemCodes.TooManyAttempts)
            .ProducesProblemCodes(503, OpensSecrets);

        group.MapPost("/switch-method", SwitchMethod).RequireAuthorization(Scopes.Manage).AcceptsLocale()
            .WithSummary("Start switching the method")
            .WithDescription("Body as enroll plus `proof`: a TOTP code of the current factor, a phone code or passkey assertion (`credential`) of a " +
                             "`proof` challenge, a backup code, or a support `bypassCode`. The proof is spent only together with the switch it authorises: a switch refused " +
                             "by a budget, a cap or the provider keeps it. 409 `factor_changed` when the factor was switched or reset meanwhile, or a newer switch " +
                             "started while this one was in progress (the newer stands; this one keeps its proof). 409 `change_in_progress` " +
                             "(nothing sent or spent) while another switch to a phone or phone addition of the user is being sent: the proof is " +
                             "spent only once the code is stored, so one proof sends one text. " +
                             "Answers like enroll. The current method stays active until the switch is confirmed.")
            .Produces<PhoneEnrollmentResponse>(202)
            .ProducesProblemCodes(400, TelephonyRequestErrors)
            .ProducesProblemCodes(409, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.PasskeyNotEnabled, ProblemCodes.PasskeysNotConfigured, ProblemCodes.FactorChanged, ProblemCodes.ChangeInProgress)
            .ProducesProvedStartProblems();

        group.MapPost("/switch-method/confirm", ConfirmSwitch).RequireAuthorization(Scopes.Manage)
            .WithSummary("Confirm the switch with a code of the new method")
            .WithDescription("`code`, or `credential` (`RegistrationResponseJSON`) for a passkey. The new method replaces the old one (an old " +
                             "passkey is deleted); backup codes are kept. 409 `no_pending_switch`.")
            .ProducesProblemCodes(409, ProblemCodes.NoPendingSwitch, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.FactorChanged)
            .ProducesProblemCodes(422, ProblemCodes.InvalidCode, ProblemCodes.InvalidPasskey, ProblemCodes.PasskeyChallengeInvalid)
            .ProducesProblemCodes(423, ProblemCodes.Locked)
            .ProducesProblemCodes(429, ProblemCodes.TooManyAttempts)
            .ProducesProblemCodes(503, OpensSecrets);

        group.MapGet("/backup-codes", GetBackupCodes).RequireAuthorization(Scopes.Manage)
            .WithSummary("How many backup codes are left")
            .WithDescription("Never returns the codes themselves.");

        group.MapPost("/backup-codes", RegenerateBackupCodes).RequireAuthorization(Scopes.Manage)
            .WithSummary("Replace the backup codes")
            .WithDescription("Needs `proof`: a TOTP code of the current factor, a phone code or passkey assertion (`credential`) of a `proof` " +
                             "challenge, a backup code or a support `bypassCode`; spent in the same transaction that stores the new set. " +
                             $"Returns a new set of {Core.BackupCodes.BackupCodeSet.DefaultCount}, shown once; every older code dies, and so does a switch or an addition one of them started that is not yet confirmed.")
            .ProducesProblemCodes(409, ProblemCodes.TwoFactorNotEnabled, ProblemCodes.PasskeyNotEnabled, ProblemCodes.FactorChanged)
            .ProducesProblemCodes(422, ProblemCodes.InvalidCode, ProblemCodes.InvalidPasskey, ProblemCodes.PasskeyChallengeInvalid, ProblemCodes.PasskeyCounterRegression)
            .ProducesProblemCodes(423, ProblemCodes.Locked)
            .ProducesProblemCodes(429, ProblemCodes.TooManyAttempts)
            .ProducesProblemCodes(503, OpensSecrets);

        MapFactors(group);
        return group;
    }

    public static async Task<Ok<StatusResponse>> GetStatus(string userId, Status status, CancellationToken ct) =>
        TypedResults.Ok(await status.GetAsync(userId, ct));

    public static async Task<Results<Created<TotpEnrollmentResponse>, Created<PasskeyEnrollmentResponse>, Accepted<PhoneEnrollmentResponse>, ProblemHttpResult>> Enroll(
        string userId, EnrollRequest request, Enroll enroll, ClaimsPrincipal caller, CancellationToken ct) =>
        Started(userId, await enroll.StartAsync(userId, request, caller.ApiKeyId(), ct));

    public static async Task<Results<JsonOk<ConfirmResponse>, ProblemHttpResult>> ConfirmEnrollment(
        string userId, CodeRequest request, ConfirmWithCode confirm, PasskeyEnrollment passkeys, ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(request.Credential is not { } credential ? await confirm.ConfirmEnrollmentAsync(userId, request.Code, caller.ApiKeyId(), ct)
            : request.Code is not null ? ChangeProofs.OneProofOnly
            : await passkeys.ConfirmEnrollmentAsync(userId, credential, caller.ApiKeyId(), ct));

    public static async Task<Results<Accepted<ChallengeResponse>, Ok<PasskeyChallengeResponse>, ProblemHttpResult>> Challenge(
        string userId, ChallengeRequest request, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        Challenge challenge, PasskeyVerification passkeys, IdempotentRequests idempotency, ClaimsPrincipal caller, CancellationToken ct)
    {
        var purpose = request.Purpose ?? ChallengePurposes.Login;
        if (!ChallengePurposes.IsKnown(purpose))
        {
            return TwoFactor.Challenge.BadPurpose.ToResult();
        }

        if (request.Channel == FactorMethods.Passkey)
        {
            // With an Idempotency-Key, a retry returns the first options instead of issuing new ones, which would end the
            // challenge a browser may already be answering (a double submit, a retry after a lost answer).
            if (IdempotentRequests.KeyProblem(idempotencyKey) is { } invalid)
            {
                return invalid.ToResult();
            }

            var fingerprint = IdempotentRequests.Fingerprint(TwoFactor.Challenge.Route, FactorMethods.Passkey, purpose, caller.ApiKeyId()?.ToString("N"),
                request.FactorId?.ToString("N"));
            var options = await idempotency.RunAsync(userId, idempotencyKey, fingerprint, request.FactorId,
                _ => passkeys.ChallengeAsync(userId, purpose, ct, request.FactorId), ct);
            return options.Error is { } refused ? refused.ToResult() : TypedResults.Ok(options.Value);
        }

        var result = await challenge.SendAsync(userId, request.Channel, purpose, request.FactorId, idempotencyKey, caller.ApiKeyId(), ct);
        return result.Error is { } error ? error.ToResult() : TypedResults.Accepted((string?)null, result.Value);
    }

    public static async Task<Results<JsonOk<VerifyResponse>, ProblemHttpResult>> Verify(string userId, VerifyRequest request, CodeProofs proofs,
        PasskeyVerification passkeys, Devices.RememberDevice devices, ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(request is { BypassCode: not null, RememberDevice: not null } ? ChangeProofs.NoDeviceForABypass
            : await devices.LoginAsync(userId, request.RememberDevice, request.DeviceToken, caller.ApiKeyId(), async device => request.Credential is not { } credential
            ? await proofs.ConsumeAsync(userId, new Proof(request.Code, request.BackupCode, BypassCode: request.BypassCode), caller.ApiKeyId(), LoginStage, ct, device)
            : request.Code is not null || request.BackupCode is not null || request.BypassCode is not null ? ChangeProofs.OneProofOnly
            : await passkeys.VerifyAsync(userId, credential, caller.ApiKeyId(), ct, device), ct));

    public static async Task<Results<Created<TotpEnrollmentResponse>, Created<PasskeyEnrollmentResponse>, Accepted<PhoneEnrollmentResponse>, ProblemHttpResult>> SwitchMethod(
        string userId, SwitchMethodRequest request, SwitchMethod switching, ClaimsPrincipal caller, CancellationToken ct) =>
        Started(userId, await switching.StartAsync(userId, request, caller.ApiKeyId(), ct));

    public static async Task<Results<JsonOk<SwitchConfirmResponse>, ProblemHttpResult>> ConfirmSwitch(
        string userId, CodeRequest request, ConfirmWithCode confirm, PasskeyEnrollment passkeys, ClaimsPrincipal caller, CancellationToken ct) =>
        ToOk(request.Credential is not { } credential ? await confirm.ConfirmSwitchAsync(userId, request.Code, caller.ApiKeyId(), ct)
            : request.Code is not null ? ChangeProofs.OneProofOnly
            : await passkeys.ConfirmSwitchAsync(userId, credential, caller.ApiKeyId(), ct));

    public static async Task<Ok<BackupCodesRemainingResponse>> GetBackupCodes(string userId, BackupCodes backupCodes, CancellationToken ct) =>
        TypedResults.Ok(new BackupCodesRemainingResponse(await backupCodes.RemainingAsync(userId, ct)));

    public static async Task<Results<Created<BackupCodesResponse>, ProblemHttpResult>> RegenerateBackupCodes(
        string userId, ProofRequest request, BackupCodes backupCodes, ClaimsPrincipal caller, CancellationToken ct)
    {
        var result = await backupCodes.RegenerateAsync(userId, request.Proof, caller.ApiKeyId(), ct);
        return result.Error is { } error
            ? error.ToResult()
            : TypedResults.Created($"/v1/users/{userId}/two-factor/backup-codes", result.Value);
    }

    private static Results<Created<TotpEnrollmentResponse>, Created<PasskeyEnrollmentResponse>, Accepted<PhoneEnrollmentResponse>, ProblemHttpResult> Started(
        string userId, Result<PendingStarted> result) => result switch
    {
        { Error: { } error } => error.ToResult(),
        { Value.Totp: { } totp } => TypedResults.Created($"/v1/users/{userId}/two-factor", totp),
        { Value.Passkey: { } passkey } => TypedResults.Created($"/v1/users/{userId}/two-factor", passkey),
        { Value.Phone: { } phone } => TypedResults.Accepted($"/v1/users/{userId}/two-factor", phone),
        _ => throw new InvalidOperationException("Enrollment started nothing."),
    };
}
