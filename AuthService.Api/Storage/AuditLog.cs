using System.Text.Json;
using AuthService.Api.Events;
using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>Appends audit events (<see cref="AuditEvent"/>, one record type per event) inside the caller's transaction, so
/// an event exists exactly when its change does. Events carry only non-secret details: never a code, secret, key or full
/// phone number.</summary>
public static class AuditLog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string InsertSql = """
        insert into audit_events (user_id, event_type, occurred_at, api_key_id, details)
        values (@userId, @eventType, @now, @apiKeyId, @details::jsonb)
        """;

    /// <summary>The JSON of an event's details, as stored: its properties but its name, and the verify profile the request ran
    /// under (DESIGN §9.5) unless the event names a profile of its own (a created key's). Appended to the serialized object
    /// rather than built as a JSON tree: this runs for every audit row of every verify (issue 27's profile).</summary>
    public static string Details(AuditEvent auditEvent)
    {
        var json = JsonSerializer.Serialize(auditEvent, auditEvent.GetType(), Json);
        if (EventProfile.Current is not { } profile || NamesProfile.GetOrAdd(auditEvent.GetType(), t => t.GetProperty("Profile") is not null))
        {
            return json;
        }

        var member = ProfileMembers.GetOrAdd(profile, p => "\"profile\":" + JsonSerializer.Serialize(p, Json));
        return json.Length == 2 ? string.Concat("{", member, "}") : string.Concat(json.AsSpan(0, json.Length - 1), ",", member, "}");
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, bool> NamesProfile = new();

    /// <summary>The <c>"profile":…</c> member of each profile name (a handful, from configuration): written once, not per row.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> ProfileMembers = new(StringComparer.Ordinal);

    /// <summary>Also writes the webhook events the audit event stands for (DESIGN §8.3) to the outbox, on the same
    /// connection and transaction: the portal hears of a change exactly when it commits.</summary>
    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string? userId, AuditEvent auditEvent,
        DateTimeOffset now, Guid? apiKeyId)
    {
        await connection.ExecuteAsync(InsertSql, new { userId, eventType = auditEvent.EventType, now, apiKeyId, details = Details(auditEvent) }, transaction);
        await WebhookOutbox.AddAsync(connection, transaction, WebhookEvents.FromAudit(auditEvent, userId, apiKeyId, now));
    }

    /// <summary>The same insert as <see cref="AppendAsync"/>, as one command of a batch, with the webhook events it stands
    /// for in the same statement (<see cref="WebhookOutbox.Include"/>).</summary>
    public static NpgsqlBatchCommand Command(string? userId, AuditEvent auditEvent, DateTimeOffset now, Guid? apiKeyId)
    {
        var command = new NpgsqlBatchCommand(InsertSql)
        {
            Parameters =
            {
                new NpgsqlParameter("userId", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)userId ?? DBNull.Value },
                new NpgsqlParameter<string>("eventType", auditEvent.EventType),
                new NpgsqlParameter<DateTimeOffset>("now", now),
                new NpgsqlParameter("apiKeyId", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)apiKeyId ?? DBNull.Value },
                new NpgsqlParameter<string>("details", Details(auditEvent)),
            },
        };
        return WebhookOutbox.Include(command, WebhookEvents.FromAudit(auditEvent, userId, apiKeyId, now));
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
