using AuthService.Core.Security;
using System.Buffers;
using System.Text;
using System.Text.Json;

namespace AuthService.Api.Events;

/// <summary>One event for the portal: its type, the user it is about (null for key events) and its body, built once
/// and stored exactly as it will be signed.</summary>
public sealed record WebhookEvent(Guid Id, string Type, string? UserId, string Body, DateTimeOffset OccurredAt)
{
    /// <summary>The Standard Webhooks <c>webhook-id</c>: stable across retries and redeliveries.</summary>
    public static string MessageId(Guid id) => "msg_" + id.ToString("N");
}

/// <summary>The event types of DESIGN §8.3 and how each is derived from the type of the audit event its change appends.
/// The audit event is appended in the change's transaction, so deriving the webhook there puts it in that same
/// transaction. Each type copies only the fields listed here: never a code, secret, key or full phone number, even if
/// an audit event one day carries more.</summary>
public static class WebhookEvents
{
    public const string Enabled = "two_factor.enabled";
    public const string MethodSwitched = "two_factor.method_switched";
    public const string FactorAdded = "two_factor.factor_added";
    public const string FactorRemoved = "two_factor.factor_removed";
    public const string Reset = "two_factor.reset";
    public const string BackupCodesRegenerated = "two_factor.backup_codes_regenerated";
    public const string BackupCodeUsed = "two_factor.backup_code_used";
    public const string BackupCodesLow = "two_factor.backup_codes_low";
    public const string BypassCodeUsed = "two_factor.bypass_code_used";
    public const string Locked = "two_factor.locked";
    public const string RateLimited = "two_factor.rate_limited";
    public const string NumberRisk = "two_factor.number_risk";
    public const string DeviceRemembered = "two_factor.device_remembered";
    public const string DevicesRevoked = "two_factor.devices_revoked";
    public const string NewDeviceLogin = "two_factor.new_device_login";
    public const string SmsFailed = "two_factor.sms_failed";
    public const string ApiKeyCreated = "api_key.created";
    public const string ApiKeyRevoked = "api_key.revoked";

    public static readonly IReadOnlyList<string> All =
    [
        Enabled, MethodSwitched, FactorAdded, FactorRemoved, Reset, BackupCodesRegenerated, BackupCodeUsed, BackupCodesLow, Locked, RateLimited,
        NumberRisk, BypassCodeUsed, DeviceRemembered, DevicesRevoked, NewDeviceLogin, SmsFailed, ApiKeyCreated, ApiKeyRevoked,
    ];

    /// <summary><c>two_factor.backup_codes_low</c> fires when a use leaves this many or fewer.</summary>
    public const int LowBackupCodes = 2;

    /// <summary>True for a subscription pattern: an event type, <c>two_factor.*</c>, <c>api_key.*</c> or <c>*</c>.</summary>
    public static bool IsPattern(string? pattern) =>
        pattern is "*" or "two_factor.*" or "api_key.*" || All.Contains(pattern);

    /// <summary>The webhook events <paramref name="audit"/> stands for (none for most), derived from its type: each webhook
    /// type lists the fields it copies, absent when null.</summary>
    public static IReadOnlyList<WebhookEvent> FromAudit(AuditEvent audit, string? userId, Guid? apiKeyId, DateTimeOffset now)
    {
        // The data object is written first, to a buffer of its own, because its type is decided with its fields and goes
        // before them in the body (Create). Each field once, in this order, absent when null.
        var data = Writer(ref t_data, ref t_dataWriter);
        data.WriteStartObject();
        if (userId is not null)
        {
            data.WriteString("userId", userId);
        }

        void Add(string name, string? value)
        {
            if (value is not null)
            {
                data.WriteString(name, value);
            }
        }

        void AddNumber(string name, int value) => data.WriteNumber(name, value);

        Guid? factorId;
        string type;
        switch (audit)
        {
            case AuditEvent.EnrollmentConfirmed e:
                (type, factorId) = (Enabled, e.FactorId);
                Add("method", e.Method);
                Add("phoneNumber", e.PhoneNumber);
                Add("channel", e.Channel);
                AddNumber("backupCodesRemaining", e.BackupCodes);
                break;
            case AuditEvent.MethodSwitched e:
                (type, factorId) = (MethodSwitched, e.FactorId);
                Add("from", e.From);
                Add("method", e.To);
                Add("phoneNumber", e.PhoneNumber);
                Add("channel", e.Channel);
                break;
            case AuditEvent.FactorAdded e:
                (type, factorId) = (FactorAdded, null);
                Add("factorId", e.FactorId.ToString());
                Add("method", e.Method);
                Add("label", e.Label);
                break;
            case AuditEvent.FactorRemoved e:
                (type, factorId) = (FactorRemoved, null);
                Add("factorId", e.FactorId.ToString());
                Add("method", e.Method);
                break;
            case AuditEvent.SupportReset { HadFactor: false }:
                return []; // nothing of the user's 2FA was there to remove: no "your two-factor settings changed" notice
            case AuditEvent.SupportReset e:
                (type, factorId) = (Reset, null);
                Add("reason", e.Reason);
                Add("ticket", e.Ticket);
                break;
            case AuditEvent.BackupCodesRegenerated e:
                (type, factorId) = (BackupCodesRegenerated, null);
                AddNumber("backupCodesRemaining", e.BackupCodes);
                break;
            case AuditEvent.BackupCodeUsed e:
                (type, factorId) = (BackupCodeUsed, null);
                Add("stage", e.Stage); // login, switch_method or backup_codes: what the code was spent on
                AddNumber("backupCodesRemaining", e.BackupCodesRemaining);
                break;
            case AuditEvent.BypassCodeUsed e:
                (type, factorId) = (BypassCodeUsed, null);
                Add("codeId", e.CodeId.ToString());
                Add("stage", e.Stage); // login, switch_method, backup_codes, add_factor or remove_factor
                Add("ticket", e.Ticket);
                AddNumber("usesLeft", e.UsesLeft);
                break;
            case AuditEvent.Locked e:
                (type, factorId) = (Locked, null); // the user's, across every factor: no factorId
                AddNumber("consecutiveFailures", e.ConsecutiveFailures);
                break;
            case AuditEvent.RateLimited e:
                (type, factorId) = (RateLimited, e.FactorId); // a daily limit on a challenge's factor; none for the attempts limit
                Add("limit", e.Limit);
                Add("scope", e.Scope);
                Add("phoneNumber", e.PhoneNumber);
                Add("channel", e.Channel);
                break;
            case AuditEvent.NumberRisk e: // issue 25: a code refused for the number's line type or a recent port
                (type, factorId) = (NumberRisk, e.FactorId);
                Add("reason", e.Reason);
                Add("channel", e.Channel);
                Add("phoneNumber", e.PhoneNumber);
                Add("lineType", e.LineType);
                Add("profile", EventProfile.Current ?? e.Profile); // the request's profile, when there is one, as below
                break;
            case AuditEvent.DeviceRemembered e:
                (type, factorId) = (DeviceRemembered, null);
                Add("deviceId", e.DeviceId.ToString());
                Add("label", e.Label);
                data.WriteString("expiresAt", e.ExpiresAt);
                break;
            case AuditEvent.DevicesRevoked e:
                (type, factorId) = (DevicesRevoked, null);
                AddNumber("count", e.Count);
                Add("cause", e.Cause);
                Add("deviceId", e.DeviceId?.ToString());
                break;
            case AuditEvent.NewDeviceLogin e:
                (type, factorId) = (NewDeviceLogin, e.FactorId);
                Add("method", e.Method);
                Add("deviceId", e.DeviceId?.ToString());
                break;
            case AuditEvent.SmsFailed e:
                (type, factorId) = (SmsFailed, null);
                Add("purpose", e.Purpose);
                Add("status", e.Status);
                Add("fallbackOffered", e.FallbackOffered); // "call": the portal shows the Call button (DESIGN §9.5)
                break;
            case AuditEvent.ApiKeyCreated e:
                (type, factorId) = (ApiKeyCreated, null);
                Add("keyId", e.KeyId.ToString());
                Add("name", e.Name);
                data.WriteStartArray("scopes");
                foreach (var scope in e.Scopes)
                {
                    data.WriteStringValue(scope);
                }

                data.WriteEndArray();
                Add("profile", e.Profile); // the new key's profile, as its audit row keeps it; not the acting key's
                break;
            case AuditEvent.ApiKeyRevoked e:
                (type, factorId) = (ApiKeyRevoked, null);
                Add("keyId", e.KeyId.ToString());
                break;
            default:
                return []; // what was written is dropped: the next Writer call empties the buffer
        }

        Add("factorId", factorId?.ToString()); // the factor the event concerns, once its caller knows it

        Add("actingKeyId", apiKeyId?.ToString());
        if (audit is not (AuditEvent.NumberRisk or AuditEvent.ApiKeyCreated)) // these wrote a profile of their own
        {
            Add("profile", EventProfile.Current); // DESIGN §9.5: the verify profile the request ran under
        }

        data.WriteEndObject();
        var events = new List<WebhookEvent>(1) { Create(type, userId, now) };
        // Not for a code spent on new codes: the set it leaves is replaced in the same transaction, and the portal would tell the
        // user their codes run low while it shows them a fresh set.
        if (audit is AuditEvent.BackupCodeUsed { BackupCodesRemaining: <= LowBackupCodes and var remaining, Stage: not ProofStages.Regeneration })
        {
            data = Writer(ref t_data, ref t_dataWriter);
            data.WriteStartObject();
            data.WriteString("userId", userId); // null when there is none, as it always was here
            AddNumber("backupCodesRemaining", remaining);
            Add("actingKeyId", apiKeyId?.ToString()); // as every event a key's request caused (docs/OPERATIONS.md)
            Add("profile", EventProfile.Current);
            data.WriteEndObject();
            events.Add(Create(BackupCodesLow, userId, now));
        }

        return events;
    }

    // One buffer and one JSON writer per thread for the body, and one for its data, reused: a writer over a fresh buffer asks it
    // for 4 KB as soon as a body passes 256 bytes, and a login from a new device builds one body (issue 27's allocation trace:
    // a quarter of the service's allocated bytes, and the data's JsonObject another 6 %). FromAudit and Create never await, so
    // a thread's buffers are never shared by two bodies.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_body, t_data;
    [ThreadStatic] private static Utf8JsonWriter? t_writer, t_dataWriter;

    /// <summary>This thread's writer over its emptied buffer.</summary>
    private static Utf8JsonWriter Writer(ref ArrayBufferWriter<byte>? buffer, ref Utf8JsonWriter? writer)
    {
        buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        return writer;
    }

    /// <summary>The body around the data object just written to this thread's data writer.</summary>
    private static WebhookEvent Create(string type, string? userId, DateTimeOffset now)
    {
        t_dataWriter!.Flush();
        var writer = Writer(ref t_body, ref t_writer);
        writer.WriteStartObject();
        writer.WriteString("type", type);
        Span<char> timestamp = stackalloc char[24];
        now.UtcDateTime.TryFormat(timestamp, out var length, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        writer.WriteString("timestamp", timestamp[..length]);
        writer.WritePropertyName("data");
        writer.WriteRawValue(t_data!.WrittenSpan, skipInputValidation: true); // written by this class's own writer just before
        writer.WriteEndObject();
        writer.Flush();
        return new WebhookEvent(Version7Ids.New(now), type, userId, Encoding.UTF8.GetString(t_body!.WrittenSpan), now);
    }
}
