using AuthService.Api.Events;
using AuthService.Api.Storage;
namespace AuthService.Api.Webhooks;

public sealed record CreateWebhookRequest(string? Url, string[]? Events, string? Description);

public sealed record WebhookResponse(Guid Id, string Url, string[] Events, string? Description, DateTimeOffset CreatedAt);

/// <summary>The signing secret, returned once at creation and never again.</summary>
public sealed record CreatedWebhookResponse(Guid Id, string Url, string[] Events, string? Description, DateTimeOffset CreatedAt, string Secret);

public sealed record WebhookListResponse(IReadOnlyList<WebhookResponse> Items);

/// <summary>One delivery of one event to one endpoint. <c>webhookId</c> is the <c>webhook-id</c> header the receiver
/// sees (the same on every retry); <c>nextAttemptAt</c> is set only while pending, and for a delivery queued behind an earlier
/// pending one of the same user it is not before that one's (a user's events go in order).</summary>
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

/// <summary>The states of a delivery (the check constraint of <c>webhook_deliveries.status</c>, migration 0005).</summary>
public static class WebhookDeliveryStatuses
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";

    public static readonly IReadOnlyList<string> All = [Pending, Delivered, Failed];
}

public sealed record WebhookDeliveryPage(IReadOnlyList<WebhookDeliveryResponse> Items, long? NextBefore);
