using AuthService.Api.Events;
using AuthService.Api.Storage;
namespace AuthService.Api.Webhooks;

public sealed record CreateWebhookRequest(string? Url, string[]? Events, string? Description);

public sealed record WebhookResponse(Guid Id, string Url, string[] Events, string? Description, DateTimeOffset CreatedAt);

/// <summary>The signing secret, returned once at creation and never again.</summary>
public sealed record CreatedWebhookResponse(Guid Id, string Url, string[] Events, string? Description, DateTimeOffset CreatedAt, string Secret);

public sealed record WebhookListResponse(IReadOnlyList<WebhookResponse> Items);

/// <summary>One delivery of one event to one endpoint. <c>webhookId</c> is the <c>webhook-id</c> header the receiver
/// sees (the same on every retry); <c>nextAttemptAt</c> is set only while pending.</summary>
public sealed record WebhookDeliveryResponse(
    long Id,
    string WebhookId,
    string Type,
    string? UserId,
    string Status,
    int Attempts,
    DateTimeOffset? LastAttemptAt,
    int? LastStatus,
    string? LastError,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset CreatedAt);

public sealed record WebhookDeliveryPage(IReadOnlyList<WebhookDeliveryResponse> Items, long? NextBefore);

public sealed class WebhookEndpointRow
{
    public Guid Id { get; init; }
    public string Url { get; init; } = "";
    public string[] Events { get; init; } = [];
    public string? Description { get; init; }
    public DateTime CreatedAt { get; init; }

    public WebhookResponse ToResponse() => new(Id, Url, Events, Description, Timestamps.Utc(CreatedAt));
}

public sealed class WebhookDeliveryRow
{
    public long Id { get; init; }
    public Guid EventId { get; init; }
    public string Type { get; init; } = "";
    public string? UserId { get; init; }
    public string Status { get; init; } = "";
    public int Attempts { get; init; }
    public DateTime? LastAttemptAt { get; init; }
    public int? LastStatus { get; init; }
    public string? LastError { get; init; }
    public DateTime NextAttemptAt { get; init; }
    public DateTime? DeliveredAt { get; init; }
    public DateTime CreatedAt { get; init; }

    public WebhookDeliveryResponse ToResponse() => new(Id, WebhookEvent.MessageId(EventId), Type, UserId, Status, Attempts,
        Timestamps.Utc(LastAttemptAt), LastStatus, LastError, Status == "pending" ? Timestamps.Utc(NextAttemptAt) : null,
        Timestamps.Utc(DeliveredAt), Timestamps.Utc(CreatedAt));
}
