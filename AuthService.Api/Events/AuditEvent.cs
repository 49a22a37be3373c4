using System.Text.Json.Serialization;

namespace AuthService.Api.Events;

/// <summary>Stages of a proof that the events themselves tell apart (not event types: <see cref="AuditEvents.All"/> lists only
/// those).</summary>
public static class ProofStages
{
    /// <summary>A code spent on a new set of backup codes (<c>TwoFactor.BackupCodes.Stage</c>): its <c>backup_code_used</c> sends
    /// no <c>two_factor.backup_codes_low</c>, since the set it leaves is replaced.</summary>
    public const string Regeneration = "backup_codes";
}

/// <summary>Event names of the audit trail (DESIGN §4), as stored in <c>audit_events.event_type</c>. Each has its record
/// type in <see cref="AuditEvent"/>; SQL that writes an event itself (the TOTP acceptance) takes its name from here.</summary>
public static partial class AuditEvents
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
    public const string PasskeyCounterRegression = "passkey_counter_regression";
    public const string PromptSkipped = "prompt_skipped";
    public const string SupportReset = "support_reset";
    public const string ApiKeyCreated = "api_key_created";
    public const string ApiKeyRevoked = "api_key_revoked";
    public const string WebhookEndpointCreated = "webhook_endpoint_created";
    public const string WebhookEndpointDeleted = "webhook_endpoint_deleted";
    public const string BypassCodeIssued = "bypass_code_issued";
    public const string BypassCodeUsed = "bypass_code_used";
    public const string BypassCodesRevoked = "bypass_codes_revoked";

    /// <summary>Every event type: the constants of this class (all its parts), the only values <c>AuditLog</c> writes.</summary>
    public static readonly IReadOnlyList<string> All = typeof(AuditEvents)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!).ToList();
}

/// <summary>One event of the audit trail: its <see cref="EventType"/> (its name, <see cref="AuditEvents"/>) and, as its properties, the details stored as JSON
/// (camelCase, <see cref="AuditLog"/>). Only non-secret details: never a code, secret, key or full phone number. The
/// webhook events an audit event stands for are derived from its type (<see cref="WebhookEvents.FromAudit"/>).
/// <para>A property marked <see cref="JsonIgnoreCondition.WhenWritingNull"/> is left out of the JSON when null: the
/// factor (<c>factorId</c>) an event concerns, once the caller knows it, and the parts only some methods have.</para></summary>
public abstract partial record AuditEvent([property: JsonIgnore] string EventType)
{
    /// <summary>A pending enrollment was stored (TOTP secret issued, phone code sent, passkey challenge issued).</summary>
    public sealed record EnrollmentStarted(
        string Method,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PhoneNumber = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Channel = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.EnrollmentStarted);

    /// <summary>A pending switch to another method, device, number or passkey was stored.</summary>
    public sealed record MethodSwitchStarted(
        string Method,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PhoneNumber = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Channel = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.MethodSwitchStarted);

    /// <summary>2FA is on: the first factor was confirmed (webhook <c>two_factor.enabled</c>).</summary>
    public sealed record EnrollmentConfirmed(
        string Method,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PhoneNumber,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Channel,
        int BackupCodes,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.EnrollmentConfirmed);

    /// <summary>A confirmed switch replaced the factor (webhook <c>two_factor.method_switched</c>).</summary>
    public sealed record MethodSwitched(
        string From,
        string To,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PhoneNumber,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Channel,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.MethodSwitched);

    /// <summary>A further factor was added to a user who has 2FA (webhook <c>two_factor.factor_added</c>).</summary>
    public sealed record FactorAdded(
        Guid FactorId,
        string Method,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Label = null)
        : AuditEvent(AuditEvents.FactorAdded);

    /// <summary>One factor was removed, the others kept (webhook <c>two_factor.factor_removed</c>).</summary>
    public sealed record FactorRemoved(Guid FactorId, string Method) : AuditEvent(AuditEvents.FactorRemoved);

    /// <summary>A factor was renamed and/or made the user's default.</summary>
    public sealed record FactorUpdated(
        Guid FactorId,
        string Method,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Label,
        bool MadeDefault)
        : AuditEvent(AuditEvents.FactorUpdated);

    /// <summary>A proof was accepted: TOTP with its drift, a phone code or passkey with the backup codes left.</summary>
    public sealed record VerificationSucceeded(
        string Method,
        string Stage,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? DriftSteps = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? BackupCodesRemaining = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.VerificationSucceeded);

    /// <summary>A proof was refused (counted towards the per-minute limit and the lockout).</summary>
    public sealed record VerificationFailed(
        string Method,
        string Stage,
        string Reason,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.VerificationFailed);

    /// <summary><see cref="AuditEvents.VerificationError"/>.</summary>
    public sealed record VerificationError(string Method, string Stage, string Reason) : AuditEvent(AuditEvents.VerificationError);

    /// <summary>A backup code was spent on <paramref name="Stage"/> (webhook <c>two_factor.backup_code_used</c>, and
    /// <c>two_factor.backup_codes_low</c> when few are left).</summary>
    public sealed record BackupCodeUsed(string Method, string Stage, int BackupCodesRemaining) : AuditEvent(AuditEvents.BackupCodeUsed);

    /// <summary>A new set of backup codes replaced the old (webhook <c>two_factor.backup_codes_regenerated</c>);
    /// <paramref name="VoidedChanges"/>: the switches and additions a backup code had started, voided with the old set.</summary>
    public sealed record BackupCodesRegenerated(int BackupCodes, int? VoidedChanges = null) : AuditEvent(AuditEvents.BackupCodesRegenerated);

    /// <summary>A phone code was sent (<paramref name="Kept"/>: stored, not dropped because the factor changed meanwhile).</summary>
    public sealed record CodeSent(
        string Channel,
        string Purpose,
        string PhoneNumber,
        string Provider,
        string? ProviderMessageId,
        bool Kept,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.CodeSent);

    /// <summary>The provider refused or failed a send (of a code for <paramref name="FactorId"/>, when it was one of the user's).</summary>
    public sealed record CodeSendFailed(string Channel, string PhoneNumber, bool Transient, bool MayHaveBeenDelivered,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.CodeSendFailed);

    /// <summary>A deployment-wide telephony cap was reached (sent anyway in monitor mode).</summary>
    public sealed record TelephonyCapped(string Cap, int Limit, long Count, string Country, string Mode, string Channel, string PhoneNumber)
        : AuditEvent(AuditEvents.TelephonyCapped);

    /// <summary>A request refused by a limit (webhook <c>two_factor.rate_limited</c>): the per-minute attempts alone (the user's,
    /// across every factor), or a daily delivery limit with its scope, number and channel, and the factor the code was for
    /// when it was one of the user's (a challenge; not a number being enrolled or added).</summary>
    public sealed record RateLimited(
        string Limit,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Scope = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PhoneNumber = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Channel = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.RateLimited);

    /// <summary>The user's second factor was locked after <paramref name="ConsecutiveFailures"/> failures (webhook
    /// <c>two_factor.locked</c>). The lockout is the user's, across all their factors (DESIGN §9.2), and a wrong code matched
    /// no factor, so the event names none.</summary>
    public sealed record Locked(int ConsecutiveFailures) : AuditEvent(AuditEvents.Locked);

    /// <summary>A passkey assertion whose signature counter went backwards (possible cloned authenticator). <paramref name="FactorId"/>
    /// names the passkey, so support can remove that one (many passkeys share an AAGUID, and many report all zeros).</summary>
    public sealed record PasskeyCounterRegression(Guid? Aaguid, long? StoredSignCount,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null)
        : AuditEvent(AuditEvents.PasskeyCounterRegression);

    /// <summary>The user skipped the enrollment prompt (<paramref name="Skips"/> so far).</summary>
    public sealed record PromptSkipped(int Skips) : AuditEvent(AuditEvents.PromptSkipped);

    /// <summary>Support reset the user's 2FA (webhook <c>two_factor.reset</c>, only when <paramref name="HadFactor"/>: a reset of a
    /// user who had no factor changed nothing the portal tells its user about, and is audited, not announced).</summary>
    public sealed record SupportReset(string Reason, string Ticket, bool HadFactor = true) : AuditEvent(AuditEvents.SupportReset);

    /// <summary>An API key was created (webhook <c>api_key.created</c>).</summary>
    public sealed record ApiKeyCreated(Guid KeyId, string Name, string[] Scopes,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Profile = null) : AuditEvent(AuditEvents.ApiKeyCreated);

    /// <summary>An API key was revoked (webhook <c>api_key.revoked</c>).</summary>
    public sealed record ApiKeyRevoked(Guid KeyId) : AuditEvent(AuditEvents.ApiKeyRevoked);

    /// <summary>A webhook endpoint was registered: where security events now go (its host only: a URL's path or query may
    /// carry the receiver's own token) and which events.</summary>
    public sealed record WebhookEndpointCreated(Guid EndpointId, string Host, string[] Events) : AuditEvent(AuditEvents.WebhookEndpointCreated);

    /// <summary>A webhook endpoint was deleted, its pending deliveries with it: security events stop going to that host.</summary>
    public sealed record WebhookEndpointDeleted(Guid EndpointId, string Host) : AuditEvent(AuditEvents.WebhookEndpointDeleted);

    /// <summary>Support issued a bypass code (DESIGN §9.4): its id, uses, expiry, reason and ticket — never the code.</summary>
    public sealed record BypassCodeIssued(Guid CodeId, int Uses, DateTimeOffset ExpiresAt, string Reason, string Ticket)
        : AuditEvent(AuditEvents.BypassCodeIssued);

    /// <summary>A bypass code was spent on <paramref name="Stage"/>, with the ticket it was issued under (webhook
    /// <c>two_factor.bypass_code_used</c>).</summary>
    public sealed record BypassCodeUsed(Guid CodeId, string Stage, string Ticket, int UsesLeft) : AuditEvent(AuditEvents.BypassCodeUsed);

    /// <summary>Support revoked the user's bypass codes (<paramref name="Revoked"/> of them were live);
    /// <paramref name="VoidedChanges"/>: the switches and additions a bypass code had started, voided with them.</summary>
    public sealed record BypassCodesRevoked(int Revoked, int? VoidedChanges = null) : AuditEvent(AuditEvents.BypassCodesRevoked);
}
