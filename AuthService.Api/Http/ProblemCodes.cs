namespace AuthService.Api.Http;

/// <summary>Every stable problem <c>code</c>, spelled once. <see cref="ProblemCodeCatalog"/> says what each means; the problems,
/// the error handler and the route tables (<c>ProducesProblemCodes</c>) use these constants, so a misspelt code does not compile.</summary>
public static class ProblemCodes
{
    public const string ValidationFailed = "validation_failed";
    public const string InvalidJson = "invalid_json";
    public const string UnknownField = "unknown_field";
    public const string InvalidParameter = "invalid_parameter";
    public const string InvalidRequest = "invalid_request";
    public const string InvalidUserId = "invalid_user_id";
    public const string InvalidPhoneNumber = "invalid_phone_number";
    public const string InvalidLoginMethod = "invalid_login_method";
    public const string DestinationNotAllowed = "destination_not_allowed";
    public const string UnknownLocale = "unknown_locale";
    public const string UnknownProfile = "unknown_profile";
    public const string InvalidWebhookUrl = "invalid_webhook_url";
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string NotFound = "not_found";
    public const string ApiKeyNotFound = "api_key_not_found";
    public const string WebhookNotFound = "webhook_not_found";
    public const string DeliveryNotFound = "delivery_not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string TwoFactorNotEnabled = "two_factor_not_enabled";
    public const string TwoFactorAlreadyEnabled = "two_factor_already_enabled";
    public const string NoPendingEnrollment = "no_pending_enrollment";
    public const string NoPendingSwitch = "no_pending_switch";
    public const string NoChallengeForMethod = "no_challenge_for_method";
    public const string IdempotencyKeyInUse = "idempotency_key_in_use";
    public const string IdempotencyKeyReused = "idempotency_key_reused";
    public const string FactorChanged = "factor_changed";
    public const string ChangeInProgress = "change_in_progress";
    public const string FactorNotFound = "factor_not_found";
    public const string DeviceNotFound = "device_not_found";
    public const string FactorLimitReached = "factor_limit_reached";
    public const string LastFactor = "last_factor";
    public const string BypassCodeLimitReached = "bypass_code_limit_reached";
    public const string PasskeysNotConfigured = "passkeys_not_configured";
    public const string PasskeyNotEnabled = "passkey_not_enabled";
    public const string SkipNotAllowed = "skip_not_allowed";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string InvalidCode = "invalid_code";
    public const string InvalidPasskey = "invalid_passkey";
    public const string PasskeyChallengeInvalid = "passkey_challenge_invalid";
    public const string PasskeyCounterRegression = "passkey_counter_regression";
    public const string Locked = "locked";
    public const string DailyLimitExceeded = "daily_limit_exceeded";
    public const string TooManyAttempts = "too_many_attempts";
    public const string ClientClosed = "client_closed";
    public const string InternalError = "internal_error";
    public const string TelephonyUnavailable = "telephony_unavailable";
    public const string TelephonyOutcomeUnknown = "telephony_outcome_unknown";
    public const string TelephonyCapped = "telephony_capped";
    public const string NumberRisk = "number_risk";
    public const string NumberLookupUnavailable = "number_lookup_unavailable";
    public const string DatabaseUnavailable = "database_unavailable";
    public const string SecretUnavailable = "secret_unavailable";
    public const string ServiceUnavailable = "service_unavailable";

    // The Telnyx delivery-report callback (SmsFallback, DESIGN §9.5): authenticated by Telnyx's signature, not an API key.
    public const string TelnyxSignatureMissing = "telnyx_signature_missing";
    public const string TelnyxSignatureInvalid = "telnyx_signature_invalid";
    public const string TelnyxSignatureExpired = "telnyx_signature_expired";
}
