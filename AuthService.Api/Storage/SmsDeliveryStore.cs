using Dapper;
using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>An SMS a delivery report was matched to: whose code it carried and under which profile it was sent.</summary>
public sealed record SmsDeliveryRow(string MessageId, string UserId, string Purpose, Guid CodeId, string Profile);

/// <summary>A call offered for a code whose SMS failed (DESIGN §9.5 <c>SmsThenCall</c>), while that code is still live.</summary>
public sealed record SmsFallbackRow(string Purpose, Guid FactorId, DateTime OfferedAt, DateTime ExpiresAt);

/// <summary>SQL of the SMS sent under the <c>SmsThenCall</c> fallback (migration 0013): remembered by Telnyx message id when
/// sent, then told once whether they failed.</summary>
public static class SmsDeliveryStore
{
    /// <summary>Remembers a code SMS by its Telnyx message id, in the transaction that stores the code; returns the status of a
    /// failure report that arrived before it (<see cref="KeepEarlyAsync"/>), taken out to be applied now, or null.</summary>
    public static async Task<string?> RememberAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string messageId, string userId,
        string purpose, Guid codeId, string profile, DateTimeOffset now)
    {
        await LockAsync(connection, transaction, messageId);
        return await connection.QuerySingleOrDefaultAsync<string?>("""
            with remembered as (
                insert into sms_deliveries (message_id, user_id, purpose, code_id, profile, created_at)
                values (@messageId, @userId, @purpose, @codeId, @profile, @now)
                on conflict (message_id) do nothing)
            delete from sms_early_reports where message_id = @messageId returning status
            """, new { messageId, userId, purpose, codeId, profile, now }, transaction);
    }

    /// <summary>The lock a report and the send it reports on both take on the message id, so that one sees the other.</summary>
    public static Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string messageId) =>
        DeliveryLedger.LockAsync(connection, transaction, "sms-report", messageId);

    /// <summary>Keeps a failure report for a message id no SMS is remembered by (yet), under <see cref="LockAsync"/>: true when it
    /// was kept, false when the id is remembered (the report was already applied, or said nothing to apply).</summary>
    public static async Task<bool> KeepEarlyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string messageId, string status,
        DateTimeOffset now) =>
        await connection.ExecuteAsync("""
            insert into sms_early_reports (message_id, status, received_at)
            select @messageId, @status, @now where not exists (select 1 from sms_deliveries where message_id = @messageId)
            on conflict (message_id) do nothing
            """, new { messageId, status, now }, transaction) == 1;

    /// <summary>Records the final status of a sent SMS, once: null when the id is unknown or its status was already reported
    /// (a replayed or duplicated report). A failure sets <c>offered_at</c> when the code it carried is still live: the
    /// one check and the write are one statement, so two reports racing cannot both offer.</summary>
    public static async Task<(SmsDeliveryRow Row, bool Offered)?> ReportAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string messageId, bool failed, DateTimeOffset now)
    {
        var row = await connection.QuerySingleOrDefaultAsync<ReportRow>("""
            update sms_deliveries s set status = @status, reported_at = @now,
                offered_at = case when @failed and exists (
                    select 1 from phone_codes c
                    where c.user_id = s.user_id and c.purpose = s.purpose and c.id = s.code_id and c.expires_at > @now) then @now end
            where s.message_id = @messageId and s.status = 'sent'
            returning s.message_id, s.user_id, s.purpose, s.code_id, s.profile, s.offered_at is not null as offered
            """, new { messageId, failed, status = failed ? "failed" : "finalized", now }, transaction);
        return row is null ? null : (new SmsDeliveryRow(row.MessageId, row.UserId, row.Purpose, row.CodeId, row.Profile), row.Offered);
    }

    private sealed class ReportRow
    {
        public string MessageId { get; init; } = "";
        public string UserId { get; init; } = "";
        public string Purpose { get; init; } = "";
        public Guid CodeId { get; init; }
        public string Profile { get; init; } = "";
        public bool Offered { get; init; }
    }

    /// <summary>The newest call offer of the user whose code is still the live one of its purpose (a new code, a use or the
    /// expiry ends the offer), or null.</summary>
    public static Task<SmsFallbackRow?> LiveOfferAsync(NpgsqlConnection connection, string userId, DateTimeOffset now) =>
        connection.QuerySingleOrDefaultAsync<SmsFallbackRow?>("""
            select s.purpose, c.factor_id as factorid, s.offered_at as offeredat, c.expires_at as expiresat
            from sms_deliveries s
            join phone_codes c on c.user_id = s.user_id and c.purpose = s.purpose and c.id = s.code_id
            where s.user_id = @userId and s.offered_at is not null and c.expires_at > @now
            order by s.offered_at desc limit 1
            """, new { userId, now });
}
