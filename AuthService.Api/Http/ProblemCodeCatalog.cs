namespace AuthService.Api.Http;

/// <summary>Every stable problem <c>code</c> the service answers with, and what it means. The OpenAPI document
/// declares <c>ProblemDetails.code</c> as an enum of exactly these, so generated clients get them as typed values and
/// the test suite's contract check fails on any code that is not listed here. Add a new code here first.</summary>
public static class ProblemCodeCatalog
{
    public static readonly IReadOnlyDictionary<string, string> Codes = new Dictionary<string, string>
    {
        // 400: the request itself is wrong
        [ProblemCodes.ValidationFailed] = "A field is missing, has the wrong value or breaks a rule (detail says which).",
        [ProblemCodes.InvalidJson] = "The body is missing, is not JSON, or has a field of the wrong type.",
        [ProblemCodes.UnknownField] = "The body has a field the operation does not declare (every request schema is additionalProperties: false; detail names the JSON path). Only the browser-written WebAuthn credential objects accept unknown members.",
        [ProblemCodes.InvalidParameter] = "A route, query or header parameter is missing or has the wrong type.",
        [ProblemCodes.InvalidRequest] = "The framework rejected the request before any handler.",
        [ProblemCodes.InvalidUserId] = "userId is not 1–128 characters of A–Z, a–z, 0–9 and . _ : @ -, or is `.` or `..`.",
        [ProblemCodes.InvalidPhoneNumber] = "phoneNumber is not a valid E.164 number.",
        [ProblemCodes.InvalidLoginMethod] = "loginMethod is not a known first-factor method.",
        [ProblemCodes.DestinationNotAllowed] = "Codes are not sent to this number: premium-rate, satellite or another refused type, or a country off the channel's allow-list. Nothing was sent or counted.",
        [ProblemCodes.UnknownLocale] = "locale is not a BCP 47 tag of one of the locales codes are sent in (docs/LOCALES.md).",
        [ProblemCodes.UnknownProfile] = "profile names no verify profile of this deployment (Profiles:{name}).",
        [ProblemCodes.InvalidWebhookUrl] = "The webhook URL is not absolute, not https (Production), or points to a non-public address.",
        // 401, 403: the caller
        [ProblemCodes.Unauthorized] = "No API key, or an unknown or revoked one.",
        [ProblemCodes.Forbidden] = "The API key lacks the scope for this operation.",
        [ProblemCodes.NumberRisk] = "The number check refused this number (reason voip: a VoIP line, refused for SMS or for both channels by the profile's VoipPolicy; reason recent_port: ported within the profile's RecentPortDays, default NumberLookup:RecentPortDays; the detail says how many days). Nothing was sent; it counts against the daily budgets only when it took a paid lookup (a number checked again within 24 h counts nothing). Use another number or method.",
        [ProblemCodes.TelnyxSignatureMissing] = "A Telnyx callback without telnyx-signature-ed25519 (base64, 64 bytes) and telnyx-timestamp (Unix seconds).",
        [ProblemCodes.TelnyxSignatureInvalid] = "A Telnyx callback whose Ed25519 signature over timestamp|body does not verify with Telephony:Telnyx:WebhookPublicKey.",
        [ProblemCodes.TelnyxSignatureExpired] = "A Telnyx callback signed further from this service's clock than Telephony:Telnyx:WebhookTolerance (a replay).",
        // 404, 405, 409: state
        [ProblemCodes.NotFound] = "No such route, or a path id that is not of its type (a {factorId} that is not a UUID): answered before the API key is checked.",
        [ProblemCodes.ApiKeyNotFound] = "No API key has this id.",
        [ProblemCodes.WebhookNotFound] = "No webhook endpoint has this id.",
        [ProblemCodes.DeliveryNotFound] = "The webhook endpoint has no delivery with this id.",
        [ProblemCodes.MethodNotAllowed] = "The route exists but not with this HTTP method.",
        [ProblemCodes.TwoFactorNotEnabled] = "The user has no enabled second factor.",
        [ProblemCodes.TwoFactorAlreadyEnabled] = "The user already has one (use switch-method).",
        [ProblemCodes.NoPendingEnrollment] = "Nothing is waiting for confirmation, or it expired.",
        [ProblemCodes.NoPendingSwitch] = "No method switch is waiting for confirmation, or it expired.",
        [ProblemCodes.NoChallengeForMethod] = "The user has no factor of the channel's method: codes are sent only to a phone (TOTP users read theirs from the app), passkey options only for a passkey.",
        [ProblemCodes.IdempotencyKeyInUse] = "A request with this Idempotency-Key is still in progress, or failed after the provider took its message: ask again after retryAfter (Retry-After: the claim's time left, 1–5 s; a claim lapses a minute after its request took it).",
        [ProblemCodes.ChangeInProgress] = "Another change of this user that is proved by a code and sends one (a switch to a phone, a phone addition) is in progress: retry after retryAfter (Retry-After). Nothing was sent or spent.",
        [ProblemCodes.FactorChanged] = "The user's factor was switched or reset while the request was in progress; nothing issued for the old factor was kept.",
        [ProblemCodes.FactorNotFound] = "No factor (or pending factor) with this id belongs to the user.",
        [ProblemCodes.DeviceNotFound] = "The user has no remembered device with this id (revoked, expired or another user's).",
        [ProblemCodes.FactorLimitReached] = "The user already holds the maximum number of factors of this method (Factors:MaxTotp, MaxPhone, MaxPasskey).",
        [ProblemCodes.BypassCodeLimitReached] = "The user already holds the maximum number of live support bypass codes (100): revoke them (DELETE …/bypass-codes) or let some expire.",
        [ProblemCodes.LastFactor] = "The user's last factor cannot be removed: two-factor authentication cannot be disabled by the user (support reset only).",
        [ProblemCodes.PasskeysNotConfigured] = "No WebAuthn relying party is configured (Passkeys:RelyingPartyId, Passkeys:Origins).",
        [ProblemCodes.PasskeyNotEnabled] = "A passkey credential was sent, but the user's factor is not a passkey.",
        [ProblemCodes.SkipNotAllowed] = "The enrollment prompt cannot be skipped: enforcement has not started (Enforcement:StartsAt), the skips are used up (Enforcement:MaxSkips), or 2FA is enabled.",
        // 413, 415: the body
        [ProblemCodes.PayloadTooLarge] = "The body is over the 64 KB limit.",
        [ProblemCodes.UnsupportedMediaType] = "The body is not application/json, or the Content-Type names a charset other than UTF-8 (on any route, with a body or not).",
        // 422, 423, 429: codes and limits
        [ProblemCodes.InvalidCode] = "The code is wrong, expired or already used.",
        [ProblemCodes.InvalidPasskey] = "The passkey response is for another origin or RP ID, an unknown credential, or its signature does not verify.",
        [ProblemCodes.PasskeyChallengeInvalid] = "The passkey challenge is unknown, already used or expired: request new options.",
        [ProblemCodes.IdempotencyKeyReused] = "The Idempotency-Key was first used for another request (route, channel, purpose, API key or factor); use a new key.",
        [ProblemCodes.PasskeyCounterRegression] = "The passkey's signature counter went backwards (possible clone; audited).",
        [ProblemCodes.Locked] = "Too many consecutive failures: only a support reset unlocks.",
        [ProblemCodes.DailyLimitExceeded] = "A daily budget of sent codes is used up: the user's, the number's, or the number's small budget for senders who have not confirmed it (retryAfter, Retry-After).",
        [ProblemCodes.TooManyAttempts] = "Too many failed attempts in a minute (retryAfter, Retry-After).",
        // 499, 5xx: the service or what it depends on
        [ProblemCodes.ClientClosed] = "The client closed the request (logged; the client sees nothing).",
        [ProblemCodes.InternalError] = "A bug: nothing of it reaches the caller but this code.",
        [ProblemCodes.TelephonyUnavailable] = "The provider did not take the message; nothing was sent (502: refused, a retry is refused too; or 503 with retryAfter: 10 s, or until the open circuit may close).",
        [ProblemCodes.TelephonyOutcomeUnknown] = "The provider may have taken the message (connection broken after sending, timeout, 500/502/504): it is not resent and counts; its code works if it arrives (502, retryAfter, Retry-After).",
        [ProblemCodes.TelephonyCapped] = "A deployment-wide cap on code deliveries is reached; nothing was sent (503, retryAfter, Retry-After).",
        [ProblemCodes.NumberLookupUnavailable] = "The number check could not be made (Number Lookup failed or its circuit is open) and NumberLookup:FailMode is closed; nothing was sent or counted (503, retryAfter, Retry-After: 30 s, or until the open circuit may close).",
        [ProblemCodes.DatabaseUnavailable] = "Storage is unreachable; retry shortly (Retry-After).",
        [ProblemCodes.SecretUnavailable] = "This instance cannot open a stored secret (its key is not in the key ring, or an unknown stored TOTP algorithm); only that user's request fails (503, Retry-After).",
        [ProblemCodes.ServiceUnavailable] = "The service is temporarily unavailable.",
    };
}
