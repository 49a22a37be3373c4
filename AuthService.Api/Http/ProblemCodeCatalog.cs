namespace AuthService.Api.Http;

/// <summary>Every stable problem <c>code</c> the service answers with, and what it means. The OpenAPI document
/// declares <c>ProblemDetails.code</c> as an enum of exactly these, so generated clients get them as typed values and
/// the test suite's contract check fails on any code that is not listed here. Add a new code here first.</summary>
public static class ProblemCodeCatalog
{
    public static readonly IReadOnlyDictionary<string, string> Codes = new Dictionary<string, string>
    {
        // 400: the request itself is wrong
        ["validation_failed"] = "A field is missing, has the wrong value or breaks a rule (detail says which).",
        ["invalid_json"] = "The body is missing, is not JSON, or has a field of the wrong type.",
        ["invalid_parameter"] = "A route, query or header parameter is missing or has the wrong type.",
        ["invalid_request"] = "The framework rejected the request before any handler.",
        ["invalid_user_id"] = "userId is not 1–128 characters of A–Z, a–z, 0–9 and . _ : @ -.",
        ["invalid_phone_number"] = "phoneNumber is not a valid E.164 number.",
        ["invalid_login_method"] = "loginMethod is not a known first-factor method.",
        ["destination_not_allowed"] = "Codes are not sent to this number: premium-rate, satellite or another refused type, or a country off the channel's allow-list. Nothing was sent or counted.",
        ["invalid_webhook_url"] = "The webhook URL is not absolute, not https (Production), or points to a non-public address.",
        // 401, 403: the caller
        ["unauthorized"] = "No API key, or an unknown or revoked one.",
        ["forbidden"] = "The API key lacks the scope for this operation.",
        // 404, 405, 409: state
        ["not_found"] = "No such route.",
        ["api_key_not_found"] = "No API key has this id.",
        ["webhook_not_found"] = "No webhook endpoint has this id.",
        ["delivery_not_found"] = "The webhook endpoint has no delivery with this id.",
        ["method_not_allowed"] = "The route exists but not with this HTTP method.",
        ["two_factor_not_enabled"] = "The user has no enabled second factor.",
        ["two_factor_already_enabled"] = "The user already has one (use switch-method).",
        ["no_pending_enrollment"] = "Nothing is waiting for confirmation, or it expired.",
        ["no_pending_switch"] = "No method switch is waiting for confirmation, or it expired.",
        ["no_challenge_for_method"] = "TOTP users read the code from their app; only phone users get a code sent.",
        ["idempotency_key_in_use"] = "A request with this Idempotency-Key is still in progress.",
        ["passkeys_not_configured"] = "No WebAuthn relying party is configured (Passkeys:RelyingPartyId, Passkeys:Origins).",
        ["passkey_not_enabled"] = "A passkey credential was sent, but the user's factor is not a passkey.",
        ["skip_not_allowed"] = "The enrollment prompt cannot be skipped (any more).",
        // 413, 415: the body
        ["payload_too_large"] = "The body is over the 64 KB limit.",
        ["unsupported_media_type"] = "The body is not application/json.",
        // 422, 423, 429: codes and limits
        ["invalid_code"] = "The code is wrong, expired or already used.",
        ["invalid_passkey"] = "The passkey response is for another origin or RP ID, an unknown credential, or its signature does not verify.",
        ["passkey_challenge_invalid"] = "The passkey challenge is unknown, already used or expired: request new options.",
        ["passkey_counter_regression"] = "The passkey's signature counter went backwards (possible clone; audited).",
        ["locked"] = "Too many consecutive failures: only a support reset unlocks.",
        ["daily_limit_exceeded"] = "A daily budget of sent codes is used up: the user's, the number's, or the number's small budget for senders who have not confirmed it (retryAfter, Retry-After).",
        ["too_many_attempts"] = "Too many failed attempts in a minute (retryAfter, Retry-After).",
        // 499, 5xx: the service or what it depends on
        ["client_closed"] = "The client closed the request (logged; the client sees nothing).",
        ["internal_error"] = "A bug: nothing of it reaches the caller but this code.",
        ["telephony_unavailable"] = "The provider did not take the message; nothing was sent (502, or 503 with retryAfter).",
        ["telephony_outcome_unknown"] = "The provider may have taken the message (connection broken after sending, timeout, 500/502/504): it is not resent and counts; its code works if it arrives (502, retryAfter).",
        ["telephony_capped"] = "A deployment-wide cap on code deliveries is reached; nothing was sent (503, retryAfter, Retry-After).",
        ["database_unavailable"] = "Storage is unreachable; retry shortly (Retry-After).",
        ["secret_unavailable"] = "The key ring lacks the key a stored secret was sealed with.",
        ["service_unavailable"] = "The service is temporarily unavailable.",
    };
}
