using System.Security.Claims;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AuthService.Api.Webhooks;

/// <summary><c>/v1/webhooks</c>: the portal's endpoints for security events (DESIGN §8.3), admin only.</summary>
public static class WebhooksApi
{
    public static RouteGroupBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/webhooks")
            .WithTags("Webhooks")
            .RequireAuthorization(Scopes.Admin)
            .ProducesProblem(401).ProducesProblem(403);

        group.MapPost("", Create).WithSummary("Register a webhook endpoint")
            .WithDescription("`events`: event types, `two_factor.*`, `api_key.*` or `*`. The signing secret (`whsec_…`, Standard Webhooks) " +
                             "is in the answer once; it is stored encrypted. In every environment but Development the URL must be https and, if its name " +
                             "resolves, resolve only to public addresses (never 6to4, Teredo or NAT64) unless `Webhooks:AllowInsecure` / " +
                             "`Webhooks:AllowPrivateNetworks` are set; every delivery checks the address it connects to. No white space " +
                             "at either end.")
            .ProducesProblemCodes(400, ProblemCodes.ValidationFailed, ProblemCodes.InvalidWebhookUrl, ProblemCodes.InvalidJson);
        group.MapGet("", List).WithSummary("List webhook endpoints").WithDescription("Never includes the secrets.");
        group.MapGet("/{id:guid}", Get).WithSummary("Get a webhook endpoint")
            .WithDescription("The endpoint a registration's `Location` names: its URL, `events`, `description` and `createdAt`. Never the " +
                             "signing secret, shown only at registration. A deleted endpoint is 404 `webhook_not_found`.")
            .ProducesProblemCodes(404, ProblemCodes.WebhookNotFound);
        group.MapDelete("/{id:guid}", Delete).WithSummary("Delete a webhook endpoint")
            .WithDescription("Its pending deliveries are dropped. Answers at once, even while a delivery to it is in flight (a receiver " +
                             "that hangs): that one delivery may still arrive, no other will.").ProducesProblemCodes(404, ProblemCodes.WebhookNotFound);
        group.MapGet("/{id:guid}/deliveries", Deliveries).WithSummary("Deliveries of a webhook endpoint, newest first")
            .WithDescription("Status (`pending`, `delivered`, `failed`), attempts, last error and next attempt. " +
                             $"Paged: `limit` (1–{WebhookDeliveries.MaxPageSize}, default {WebhookDeliveries.DefaultPageSize}) " +
                             "and `before` (the `nextBefore` of the previous page); `status` filters.")
            .ProducesProblemCodes(400, ProblemCodes.ValidationFailed, ProblemCodes.InvalidParameter).ProducesProblemCodes(404, ProblemCodes.WebhookNotFound);
        group.MapPost("/{id:guid}/deliveries/{deliveryId:long}/redeliver", Redeliver).WithSummary("Send a delivery again")
            .WithDescription("A pending delivery becomes due now; a delivered or failed one is queued again as a new delivery with the same " +
                             "`webhook-id`, so a receiver that deduplicates by it sees it once.")
            .ProducesProblemCodes(404, ProblemCodes.WebhookNotFound, ProblemCodes.DeliveryNotFound);
        return group;
    }

    public static async Task<Results<Created<CreatedWebhookResponse>, ProblemHttpResult>> Create(CreateWebhookRequest request,
        RegisterWebhook register, ClaimsPrincipal caller, CancellationToken ct)
    {
        var result = await register.CreateAsync(request, caller.ApiKeyId(), ct);
        return result.Error is { } error ? error.ToResult() : TypedResults.Created($"/v1/webhooks/{result.Value!.Id}", result.Value);
    }

    public static async Task<Ok<WebhookListResponse>> List(WebhookEndpoints endpoints, CancellationToken ct) =>
        TypedResults.Ok(await endpoints.ListAsync(ct));

    public static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> Get(Guid id, WebhookEndpoints endpoints, CancellationToken ct)
    {
        var result = await endpoints.GetAsync(id, ct);
        return result.Error is { } error ? error.ToResult() : TypedResults.Ok(result.Value);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(Guid id, WebhookEndpoints endpoints, ClaimsPrincipal caller,
        CancellationToken ct) =>
        await endpoints.DeleteAsync(id, caller.ApiKeyId(), ct) is { } error ? error.ToResult() : TypedResults.NoContent();

    public static async Task<Results<Ok<WebhookDeliveryPage>, ProblemHttpResult>> Deliveries(Guid id, int? limit, long? before, string? status,
        WebhookDeliveries deliveries, CancellationToken ct)
    {
        var result = await deliveries.ListAsync(id, limit, before, status, ct);
        return result.Error is { } error ? error.ToResult() : TypedResults.Ok(result.Value);
    }

    public static async Task<Results<Accepted<WebhookDeliveryResponse>, ProblemHttpResult>> Redeliver(Guid id, long deliveryId,
        WebhookDeliveries deliveries, CancellationToken ct)
    {
        var result = await deliveries.RedeliverAsync(id, deliveryId, ct);
        return result.Error is { } error ? error.ToResult() : TypedResults.Accepted($"/v1/webhooks/{id}/deliveries", result.Value);
    }
}
