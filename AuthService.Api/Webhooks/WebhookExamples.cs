using AuthService.Api.Events;
using System.Text.Json;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.Webhooks;

/// <summary>Example bodies of the webhook schemas and the tag's description in the OpenAPI document.</summary>
public sealed class WebhookExamples : ISchemaFilter, IDocumentFilter
{
    private static readonly DateTimeOffset At = new(2026, 3, 2, 9, 15, 0, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    private const string Url = "https://portal.example.com/hooks/authservice";
    private static readonly string[] Events = ["two_factor.*"];

    private static readonly Dictionary<Type, object> Examples = new()
    {
        [typeof(CreateWebhookRequest)] = new CreateWebhookRequest(Url, Events, "Portal security notices"),
        [typeof(WebhookResponse)] = new WebhookResponse(Id, Url, Events, "Portal security notices", At),
        [typeof(CreatedWebhookResponse)] = new CreatedWebhookResponse(Id, Url, Events, "Portal security notices", At,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        [typeof(WebhookDeliveryResponse)] = new WebhookDeliveryResponse(42, "msg_0195a1b2c3d47e5f8a9b0c1d2e3f4a60", WebhookEvents.Enabled, "ann",
            "pending", 3, At.AddMinutes(1), 503, "HTTP 503", At.AddMinutes(1).AddSeconds(20), null, At),
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is OpenApiSchema concrete && Examples.TryGetValue(context.Type, out var example))
        {
            concrete.Examples = [JsonSerializer.SerializeToNode(example, JsonSerializerOptions.Web)!];
        }
    }

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag
        {
            Name = "Webhooks",
            Description = "Signed security events for the portal (Standard Webhooks): " + string.Join(", ", WebhookEvents.All) + ". Admin scope.",
        });
    }
}
