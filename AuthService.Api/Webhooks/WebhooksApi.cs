using System.Security.Claims;
using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using AuthService.Core.Text;

namespace AuthService.Api.Webhooks;

/// <summary><c>/v1/webhooks</c>: the portal's endpoints for security events (DESIGN §8.3), admin only.</summary>
public static class WebhooksApi
{
    private const int MaxEvents = 20;

    public static RouteGroupBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/webhooks")
            .WithTags("Webhooks")
            .RequireAuthorization(Scopes.Admin)
            .ProducesProblem(401).ProducesProblem(403);

        group.MapPost("", Create).WithSummary("Register a webhook endpoint")
            .WithDescription("`events`: event types, `two_factor.*`, `api_key.*` or `*`. The signing secret (`whsec_…`, Standard Webhooks) " +
                             "is in the answer once; it is stored encrypted. In every environment but Development the URL must be https and resolve " +
                             "to a public address (never 6to4, Teredo or NAT64) unless `Webhooks:AllowInsecure` / " +
                             "`Webhooks:AllowPrivateNetworks` are set.")
            .ProducesProblemCodes(400, ProblemCodes.ValidationFailed, ProblemCodes.InvalidWebhookUrl, ProblemCodes.InvalidJson);
        group.MapGet("", List).WithSummary("List webhook endpoints").WithDescription("Never includes the secrets.");
        group.MapGet("/{id:guid}", Get).WithSummary("Get a webhook endpoint").ProducesProblemCodes(404, ProblemCodes.WebhookNotFound);
        group.MapDelete("/{id:guid}", Delete).WithSummary("Delete a webhook endpoint")
            .WithDescription("Its pending deliveries are dropped.").ProducesProblemCodes(404, ProblemCodes.WebhookNotFound);
        group.MapGet("/{id:guid}/deliveries", Deliveries).WithSummary("Deliveries of a webhook endpoint, newest first")
            .WithDescription("Status (`pending`, `delivered`, `failed`), attempts, last error and next attempt. Paged: `limit` (1–200, default 50) " +
                             "and `before` (the `nextBefore` of the previous page); `status` filters.")
            .ProducesProblemCodes(400, ProblemCodes.ValidationFailed, ProblemCodes.InvalidParameter).ProducesProblemCodes(404, ProblemCodes.WebhookNotFound);
        group.MapPost("/{id:guid}/deliveries/{deliveryId:long}/redeliver", Redeliver).WithSummary("Send a delivery again")
            .WithDescription("A pending delivery becomes due now; a delivered or failed one is queued again as a new delivery with the same " +
                             "`webhook-id`, so a receiver that deduplicates by it sees it once.")
            .ProducesProblemCodes(404, ProblemCodes.WebhookNotFound, ProblemCodes.DeliveryNotFound);
        return group;
    }

    public static async Task<Results<Created<CreatedWebhookResponse>, ProblemHttpResult>> Create(CreateWebhookRequest request,
        RegisterWebhook register, WebhookUrlGuard guard, TimeProvider time, ClaimsPrincipal caller, CancellationToken ct)
    {
        var events = request.Events?.Distinct().ToArray() ?? [];
        if (events.Length is 0 or > MaxEvents || !events.All(WebhookEvents.IsPattern))
        {
            return Problems.Validation($"events must list 1–{MaxEvents} of: {string.Join(", ", WebhookEvents.All)}, two_factor.*, api_key.*, *.")
                .ToResult();
        }

        var description = request.Description?.Trim();
        if (description is not null && !PrintableText.IsValid(description, 500))
        {
            return Problems.Validation("description must be at most 500 characters without control characters.").ToResult();
        }

        if (await guard.CheckUrlAsync(request.Url, ct) is { } refused)
        {
            return Problems.Result(400, ProblemCodes.InvalidWebhookUrl, "The webhook URL is not allowed.", refused);
        }

        var (row, secret) = await register.CreateAsync(request.Url!, events, string.IsNullOrEmpty(description) ? null : description,
            time.GetUtcNow(), caller.ApiKeyId(), ct);
        var created = row.ToResponse();
        return TypedResults.Created($"/v1/webhooks/{row.Id}",
            new CreatedWebhookResponse(created.Id, created.Url, created.Events, created.Description, created.CreatedAt, secret));
    }

    public static async Task<Ok<WebhookListResponse>> List(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return TypedResults.Ok(new WebhookListResponse((await WebhookStore.ListEndpointsAsync(connection, ct)).Select(r => r.ToResponse()).ToList()));
    }

    public static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> Get(Guid id, NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await WebhookStore.GetEndpointByIdAsync(connection, id, ct) is { } row ? TypedResults.Ok(row.ToResponse()) : NotFound();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(Guid id, NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await WebhookStore.DeleteEndpointByIdAsync(connection, id, ct) ? TypedResults.NoContent() : NotFound();
    }

    public static async Task<Results<Ok<WebhookDeliveryPage>, ProblemHttpResult>> Deliveries(Guid id, int? limit, long? before, string? status,
        NpgsqlDataSource dataSource, CancellationToken ct)
    {
        var size = limit ?? 50;
        if (size is < 1 or > 200 || before is < 1 || status is not (null or "pending" or "delivered" or "failed"))
        {
            return Problems.Validation("limit must be 1–200, before a positive delivery id, status pending, delivered or failed.").ToResult();
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        if (await WebhookStore.GetEndpointByIdAsync(connection, id, ct) is null)
        {
            return NotFound();
        }

        var rows = await WebhookStore.ListDeliveriesByEndpointIdAsync(connection, id, status, before, size + 1, ct);
        var items = rows.Take(size).Select(r => r.ToResponse()).ToList();
        return TypedResults.Ok(new WebhookDeliveryPage(items, rows.Count > size ? items[^1].Id : null));
    }

    public static async Task<Results<Accepted<WebhookDeliveryResponse>, ProblemHttpResult>> Redeliver(Guid id, long deliveryId,
        NpgsqlDataSource dataSource, TimeProvider time, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        if (await WebhookStore.GetEndpointByIdAsync(connection, id, ct) is null)
        {
            return NotFound();
        }

        return await WebhookStore.RedeliverByIdAsync(connection, id, deliveryId, time.GetUtcNow(), ct) is { } row
            ? TypedResults.Accepted($"/v1/webhooks/{id}/deliveries", row.ToResponse())
            : Problems.Result(404, ProblemCodes.DeliveryNotFound, "No such delivery.", "This endpoint has no delivery with this id.");
    }

    private static ProblemHttpResult NotFound() =>
        Problems.Result(404, ProblemCodes.WebhookNotFound, "No such webhook endpoint.", "No webhook endpoint has this id.");
}
