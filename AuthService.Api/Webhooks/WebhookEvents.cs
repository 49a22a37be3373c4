using System.Text.Json;
using System.Text.Json.Nodes;
using AuthService.Api.Storage;

namespace AuthService.Api.Webhooks;

/// <summary>One event for the portal: its type, the user it is about (null for key events) and its body, built once
/// and stored exactly as it will be signed.</summary>
public sealed record WebhookEvent(Guid Id, string Type, string? UserId, string Body, DateTimeOffset OccurredAt)
{
    /// <summary>The Standard Webhooks <c>webhook-id</c>: stable across retries and redeliveries.</summary>
    public static string MessageId(Guid id) => "msg_" + id.ToString("N");
}

/// <summary>The event types of DESIGN §8.3 and how each is derived from the audit event its change appends. The audit
/// event is appended in the change's transaction, so deriving the webhook there puts it in that same transaction.
/// Each type copies only the fields listed here: never a code, secret, key or full phone number, even if an audit
/// event one day carries more.</summary>
public static class WebhookEvents
{
    public const string Enabled = "two_factor.enabled";
    public const string MethodSwitched = "two_factor.method_switched";
    public const string Reset = "two_factor.reset";
    public const string BackupCodesRegenerated = "two_factor.backup_codes_regenerated";
    public const string BackupCodeUsed = "two_factor.backup_code_used";
    public const string BackupCodesLow = "two_factor.backup_codes_low";
    public const string Locked = "two_factor.locked";
    public const string RateLimited = "two_factor.rate_limited";
    public const string ApiKeyCreated = "api_key.created";
    public const string ApiKeyRevoked = "api_key.revoked";

    public static readonly IReadOnlyList<string> All =
    [
        Enabled, MethodSwitched, Reset, BackupCodesRegenerated, BackupCodeUsed, BackupCodesLow, Locked, RateLimited,
        ApiKeyCreated, ApiKeyRevoked,
    ];

    /// <summary><c>two_factor.backup_codes_low</c> fires when a use leaves this many or fewer.</summary>
    public const int LowBackupCodes = 2;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>True for a subscription pattern: an event type, <c>two_factor.*</c>, <c>api_key.*</c> or <c>*</c>.</summary>
    public static bool IsPattern(string? pattern) =>
        pattern is "*" or "two_factor.*" or "api_key.*" || All.Contains(pattern);

    /// <summary>The webhook events an audit event stands for (none for most).</summary>
    public static IReadOnlyList<WebhookEvent> FromAudit(string auditEvent, string? userId, Guid? apiKeyId, DateTimeOffset now, string detailsJson)
    {
        var type = auditEvent switch
        {
            AuditEvents.EnrollmentConfirmed => Enabled,
            AuditEvents.MethodSwitched => MethodSwitched,
            AuditEvents.SupportReset => Reset,
            AuditEvents.BackupCodesRegenerated => BackupCodesRegenerated,
            AuditEvents.BackupCodeUsed => BackupCodeUsed,
            AuditEvents.Locked => Locked,
            AuditEvents.RateLimited => RateLimited,
            AuditEvents.ApiKeyCreated => ApiKeyCreated,
            AuditEvents.ApiKeyRevoked => ApiKeyRevoked,
            _ => null,
        };
        if (type is null)
        {
            return [];
        }

        var details = JsonNode.Parse(detailsJson) as JsonObject ?? [];
        var data = new JsonObject();
        if (userId is not null)
        {
            data["userId"] = userId;
        }

        void Copy(string from, string? to = null)
        {
            if (details[from] is { } value)
            {
                data[to ?? from] = value.DeepClone();
            }
        }

        switch (type)
        {
            case Enabled:
                Copy("method");
                Copy("phoneNumber");
                Copy("channel");
                Copy("backupCodes", "backupCodesRemaining");
                break;
            case MethodSwitched:
                Copy("from");
                Copy("to", "method");
                Copy("phoneNumber");
                Copy("channel");
                break;
            case Reset:
                Copy("reason");
                Copy("ticket");
                break;
            case BackupCodesRegenerated:
                Copy("backupCodes", "backupCodesRemaining");
                break;
            case BackupCodeUsed:
                Copy("stage"); // login, switch_method or backup_codes: what the code was spent on
                Copy("backupCodesRemaining");
                break;
            case Locked:
                Copy("method");
                Copy("consecutiveFailures");
                break;
            case RateLimited:
                Copy("limit");
                Copy("scope");
                Copy("phoneNumber");
                Copy("channel");
                break;
            case ApiKeyCreated:
                Copy("keyId");
                Copy("name");
                Copy("scopes");
                break;
            case ApiKeyRevoked:
                Copy("keyId");
                break;
        }

        if (apiKeyId is not null)
        {
            data["actingKeyId"] = apiKeyId.Value.ToString();
        }

        var events = new List<WebhookEvent> { Create(type, userId, now, data) };
        if (type == BackupCodeUsed && data["backupCodesRemaining"]?.GetValue<int>() is <= LowBackupCodes and var remaining)
        {
            var low = new JsonObject { ["userId"] = userId, ["backupCodesRemaining"] = remaining };
            events.Add(Create(BackupCodesLow, userId, now, low));
        }

        return events;
    }

    private static WebhookEvent Create(string type, string? userId, DateTimeOffset now, JsonObject data)
    {
        var body = new JsonObject
        {
            ["type"] = type,
            ["timestamp"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["data"] = data,
        };
        return new WebhookEvent(Guid.CreateVersion7(now), type, userId, body.ToJsonString(Json), now);
    }
}
