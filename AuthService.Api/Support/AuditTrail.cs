using System.Text.Json;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using Npgsql;

namespace AuthService.Api.Support;

/// <summary>A user's audit trail, newest first, a page at a time.</summary>
public sealed class AuditTrail(NpgsqlDataSource dataSource)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;

    public async Task<Result<AuditEventPage>> PageAsync(string userId, int? limit, long? before, CancellationToken cancellationToken)
    {
        var size = limit ?? DefaultPageSize;
        if (size is < 1 or > MaxPageSize || before is < 1)
        {
            return Problems.Validation("limit must be 1–200 and before a positive event id.");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await AuditLog.ListByUserIdAsync(connection, userId, before, size + 1);
        var items = rows.Take(size).Select(r => new AuditEventResponse(r.Id, r.EventType,
            Timestamps.Utc(r.OccurredAt), r.ApiKeyId,
            JsonDocument.Parse(r.Details).RootElement.Clone())).ToList();
        return new AuditEventPage(items, rows.Count > size ? items[^1].Id : null);
    }
}
