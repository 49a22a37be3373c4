using System.Text.Json;
using AuthService.Api.Webhooks;
using Dapper;
using Npgsql;

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

/// <summary>Appends audit events inside the caller's transaction, so an event exists exactly when its change does.
/// Callers pass only non-secret details: never a code, secret, key or full phone number.</summary>
public static class AuditLog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string InsertSql = """
        insert into audit_events (user_id, event_type, occurred_at, api_key_id, details)
        values (@userId, @eventType, @now, @apiKeyId, @details::jsonb)
        """;

    /// <summary>The JSON of an event's details, as stored.</summary>
    public static string Details(object? details) => JsonSerializer.Serialize(details ?? new { }, Json);

    /// <summary>Also writes the webhook events the audit event stands for (DESIGN §8.3) to the outbox, on the same
    /// connection and transaction: the portal hears of a change exactly when it commits.</summary>
    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string? userId, string eventType,
        DateTimeOffset now, Guid? apiKeyId, object? details = null)
    {
        var json = Details(details);
        await connection.ExecuteAsync(InsertSql, new { userId, eventType, now, apiKeyId, details = json }, transaction);
        await WebhookOutbox.AddAsync(connection, transaction, WebhookEvents.FromAudit(eventType, userId, apiKeyId, now, json));
    }

    /// <summary>The same insert as <see cref="AppendAsync"/>, as one command of a batch, with the webhook events it stands
    /// for in the same statement (<see cref="WebhookOutbox.Include"/>).</summary>
    public static NpgsqlBatchCommand Command(string? userId, string eventType, DateTimeOffset now, Guid? apiKeyId, object? details = null)
    {
        var json = Details(details);
        var command = new NpgsqlBatchCommand(InsertSql)
        {
            Parameters =
            {
                new NpgsqlParameter("userId", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)userId ?? DBNull.Value },
                new NpgsqlParameter<string>("eventType", eventType),
                new NpgsqlParameter<DateTimeOffset>("now", now),
                new NpgsqlParameter("apiKeyId", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)apiKeyId ?? DBNull.Value },
                new NpgsqlParameter<string>("details", json),
            },
        };
        return WebhookOutbox.Include(command, WebhookEvents.FromAudit(eventType, userId, apiKeyId, now, json));
    }

    /// <summary>The user's events, newest first, before event id <paramref name="before"/> (when given).</summary>
    public static async Task<IReadOnlyList<(long Id, string EventType, DateTime OccurredAt, Guid? ApiKeyId, string Details)>> ListByUserIdAsync(
        NpgsqlConnection connection, string userId, long? before, int take) =>
        (await connection.QueryAsync<(long Id, string EventType, DateTime OccurredAt, Guid? ApiKeyId, string Details)>("""
            select id, event_type, occurred_at, api_key_id, details::text
            from audit_events where user_id = @userId and (@before::bigint is null or id < @before)
            order by id desc limit @take
            """, new { userId, before, take })).ToList();
}
