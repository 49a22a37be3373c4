using System.Text.Json;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.SmsFallback;

/// <summary>What a verified Telnyx callback did: <c>ignored</c> (another event type, a message we did not send under the
/// fallback, or one already reported), <c>finalized</c> (not a failure) or <c>failed</c> (a call offered or not).</summary>
public sealed record SmsReportOutcome(string Outcome, bool CallOffered);

/// <summary>
/// The <c>SmsThenCall</c> fallback (DESIGN §9.5): Telnyx reports the final status of each SMS in a signed
/// <c>message.finalized</c> webhook. A report that <c>to[].status</c> is <c>sending_failed</c> or <c>delivery_failed</c> for a
/// code SMS we sent under a fallback profile, while that code is still live, offers a call: the status read shows
/// <c>fallback</c> and the portal gets <c>two_factor.sms_failed</c> with <c>fallbackOffered: "call"</c>. The call itself is
/// placed only when the portal asks for it on the usual routes (<c>/challenge</c> or the enrollment), so every budget, cap and
/// destination rule of a send applies to it unchanged. Each report is applied once: a replay or a duplicate changes nothing.
/// </summary>
public sealed class SmsDeliveryReports(NpgsqlDataSource dataSource, TelnyxSignature signature, TimeProvider time, ILogger<SmsDeliveryReports> logger)
{
    public const string FinalizedEvent = "message.finalized";

    private static readonly HashSet<string> FailedStatuses = new(StringComparer.Ordinal) { "sending_failed", "delivery_failed" };

    public static readonly Problem NotJson = new(400, ProblemCodes.InvalidJson, ErrorHandling.InvalidJsonTitle,
        "The body is not a Telnyx event: a Telnyx webhook body is a JSON object with data.event_type and data.payload.");

    public async Task<Result<SmsReportOutcome>> ReceiveAsync(string? signatureHeader, string? timestampHeader, byte[] body,
        CancellationToken cancellationToken)
    {
        if (signature.Check(signatureHeader, timestampHeader, body) is { } refused)
        {
            return refused;
        }

        string? eventType, messageId;
        List<string> statuses;
        try
        {
            using var document = JsonDocument.Parse(body);
            var data = document.RootElement.GetProperty("data");
            eventType = Text(data, "event_type");
            var payload = data.GetProperty("payload");
            messageId = Text(payload, "id");
            statuses = payload.TryGetProperty("to", out var to) && to.ValueKind == JsonValueKind.Array
                ? to.EnumerateArray().Select(r => Text(r, "status") ?? "").ToList()
                : [];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return NotJson;
        }

        if (eventType != FinalizedEvent || string.IsNullOrEmpty(messageId))
        {
            return new SmsReportOutcome("ignored", false); // message.sent, inbound messages …: nothing to do
        }

        var failed = statuses.FirstOrDefault(FailedStatuses.Contains);
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SmsDeliveryStore.LockAsync(connection, transaction, messageId);
        var reported = await ApplyAsync(connection, transaction, messageId, failed, now);
        if (reported is not { } report)
        {
            // A failure reported before the send's transaction remembered its SMS is kept; that transaction applies it.
            var early = failed is not null && await SmsDeliveryStore.KeepEarlyAsync(connection, transaction, messageId, failed, now);
            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation(early
                ? "Telnyx reported message {MessageId} failed before its send was recorded; kept for it"
                : "Telnyx report for message {MessageId} ignored: not an SMS sent under the fallback, or already reported", messageId);
            return new SmsReportOutcome("ignored", false);
        }

        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Telnyx reported message {MessageId} {Status}; call offered: {Offered}", messageId, failed ?? "finalized",
            report.Offered);
        return new SmsReportOutcome(failed is null ? "finalized" : "failed", report.Offered);
    }

    /// <summary>Applies a report to the SMS remembered by <paramref name="messageId"/>, once (<see cref="SmsDeliveryStore.ReportAsync"/>),
    /// and audits a failure (<paramref name="failedStatus"/> not null) with the call it offered; null when no SMS is
    /// remembered by that id or it was reported already. Also run by the send's transaction for a failure reported before it
    /// (<see cref="SmsDeliveryStore.RememberAsync"/>).</summary>
    public static async Task<(SmsDeliveryRow Row, bool Offered)?> ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string messageId, string? failedStatus, DateTimeOffset now)
    {
        var reported = await SmsDeliveryStore.ReportAsync(connection, transaction, messageId, failedStatus is not null, now);
        if (reported is { } report && failedStatus is not null)
        {
            EventProfile.Current = report.Row.Profile; // the profile the SMS was sent under, in the audit and the webhook event
            await AuditLog.AppendAsync(connection, transaction, report.Row.UserId,
                new AuditEvent.SmsFailed(report.Row.Purpose, failedStatus, messageId, report.Offered ? "call" : null), now, null);
        }

        return reported;
    }

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
