namespace AuthService.Api.Storage;

/// <summary>Event names of the audit trail (DESIGN §4).</summary>
public static class AuditEvents
{
    public const string EnrollmentStarted = "enrollment_started";
    public const string EnrollmentConfirmed = "enrollment_confirmed";
    public const string VerificationSucceeded = "verification_succeeded";
    public const string VerificationFailed = "verification_failed";

    /// <summary>A proof this instance could not check (its factor's secret or algorithm unreadable here): counted in the
    /// per-minute ledger so it cannot be repeated at will, never in the lockout count (not the user's fault).</summary>
    public const string VerificationError = "verification_error";
    public const string BackupCodeUsed = "backup_code_used";
    public const string BackupCodesRegenerated = "backup_codes_regenerated";
    public const string MethodSwitchStarted = "method_switch_started";
    public const string MethodSwitched = "method_switched";
    public const string FactorAdded = "factor_added";
    public const string FactorRemoved = "factor_removed";
    public const string FactorUpdated = "factor_updated";
    public const string CodeSent = "code_sent";
    public const string CodeSendFailed = "code_send_failed";
    public const string TelephonyCapped = "telephony_capped";
    public const string RateLimited = "rate_limited";
    public const string Locked = "locked";
    public const string PromptSkipped = "prompt_skipped";
    public const string SupportReset = "support_reset";
    public const string ApiKeyCreated = "api_key_created";
    public const string ApiKeyRevoked = "api_key_revoked";
}
