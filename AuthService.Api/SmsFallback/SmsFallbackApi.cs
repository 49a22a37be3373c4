using System.Text.Json;
using AuthService.Api.Configuration;
using AuthService.Api.Http;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.SmsFallback;

/// <summary><c>POST /telnyx/messaging-events</c>: Telnyx's messaging webhooks (set it as the messaging profile's webhook URL).
/// No API key: Telnyx cannot send one; the request is authenticated by Telnyx's Ed25519 signature instead
/// (<see cref="TelnyxSignature"/>). In openapi.yaml without a security requirement; the body is Telnyx's (contracts/telnyx).</summary>
public static class SmsFallbackApi
{
    public const string Route = "/telnyx/messaging-events";

    /// <summary>Reads <see cref="TelnyxWebhookOptions"/> now: a malformed key or tolerance stops start-up before any migration.</summary>
    public static IServiceCollection AddSmsFallback(this IServiceCollection services, IConfiguration configuration)
    {
        TelnyxWebhookOptions options;
        try
        {
            options = configuration.GetSection(TelnyxWebhookOptions.SectionName).Get<TelnyxWebhookOptions>() ?? new TelnyxWebhookOptions();
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException($"Telephony:Telnyx:WebhookTolerance is not a time span: {e.Message}");
        }

        if (options.Problem() is { } problem)
        {
            throw new StartupException(problem);
        }

        services.AddSingleton(Options.Create(options));
        services.AddSingleton<TelnyxSignature>();
        services.AddSingleton<SmsDeliveryReports>();
        services.Configure<SwaggerGenOptions>(o => o.OperationFilter<NoApiKeyOperationFilter>());
        return services;
    }

    public static IEndpointRouteBuilder MapSmsFallback(this IEndpointRouteBuilder routes)
    {
        routes.MapPost(Route, Receive).AllowAnonymous().WithTags("Provider callbacks")
            .WithSummary("Telnyx messaging webhooks: SMS delivery reports for the SmsThenCall fallback")
            .WithDescription("Set as the Telnyx messaging profile's webhook URL. No API key: authenticated by Telnyx's Ed25519 signature " +
                             "(`telnyx-signature-ed25519` over `{telnyx-timestamp}|{body}`, with `Telephony:Telnyx:WebhookPublicKey`), " +
                             "within `Telephony:Telnyx:WebhookTolerance` (5 min) of this service's clock. A `message.finalized` whose " +
                             "`to[].status` is `sending_failed` or `delivery_failed`, for a code SMS sent under a profile with " +
                             "`Fallback=SmsThenCall` while its code is live, offers a call (status `fallback`, event `two_factor.sms_failed`). " +
                             "Every other verified event, an unknown message id and a replay are acknowledged with 204 and change nothing.")
            .Accepts<JsonElement>("application/json")
            .ProducesProblemCodes(400, ProblemCodes.TelnyxSignatureMissing, ProblemCodes.InvalidJson)
            .ProducesProblemCodes(401, ProblemCodes.TelnyxSignatureInvalid, ProblemCodes.TelnyxSignatureExpired);
        return routes;
    }

    /// <summary>204 once the report is applied or safely ignored (Telnyx retries anything else); 400/401 problem+json for a
    /// missing, wrong or stale signature.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> Receive(HttpContext context, SmsDeliveryReports reports, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, ct); // the exact bytes Telnyx signed (Kestrel caps them at 64 KB)
        var headers = context.Request.Headers;
        var result = await reports.ReceiveAsync(headers[TelnyxSignature.SignatureHeader], headers[TelnyxSignature.TimestampHeader],
            buffer.ToArray(), ct);
        return result.Error is { } error ? error.ToResult() : TypedResults.NoContent();
    }

    /// <summary>Routes that allow anonymous callers (this one) carry no API-key security requirement in the document.</summary>
    private sealed class NoApiKeyOperationFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
            {
                operation.Security = [];
            }

            // The callback's authentication is these two headers: declared, so a request built from the document carries them.
            if (context.ApiDescription.RelativePath == Route.TrimStart('/'))
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(Header(TelnyxSignature.SignatureHeader, "Telnyx's base64 Ed25519 signature over `{telnyx-timestamp}|{body}`."));
                operation.Parameters.Add(Header(TelnyxSignature.TimestampHeader, "When Telnyx signed it, in Unix seconds."));
                if (operation.RequestBody?.Content?.TryGetValue("application/json", out var media) == true && media is OpenApiMediaType json)
                {
                    json.Example = JsonSerializer.SerializeToNode(FinalizedExample);
                }
            }
        }

        /// <summary>A <c>message.finalized</c> for a code SMS that was not delivered, in Telnyx's shape (contracts/telnyx/messaging-webhooks.md):
        /// the report that offers the call.</summary>
        private static readonly object FinalizedExample = new
        {
            data = new
            {
                event_type = SmsDeliveryReports.FinalizedEvent,
                id = "0f8c2b6e-4a1d-4e7b-9c3a-5d2e1f0a9b8c",
                occurred_at = "2026-03-02T09:15:04.512+00:00",
                record_type = "event",
                payload = new
                {
                    id = "40385f64-5717-4562-b3fc-2c963f66afa6",
                    record_type = "message",
                    direction = "outbound",
                    type = "SMS",
                    from = new { phone_number = "+13035550100", carrier = "Telnyx", line_type = "VoIP" },
                    to = new[] { new { phone_number = "+13035550123", status = "delivery_failed", carrier = "T-MOBILE USA, INC.", line_type = "Wireless" } },
                    errors = new[] { new { code = "40300", title = "Blocked as spam", detail = "The carrier refused the message." } },
                },
            },
            meta = new { attempt = 1, delivered_to = "https://auth.example.com/telnyx/messaging-events" },
        };

        private static OpenApiParameter Header(string name, string description) => new()
        {
            Name = name,
            In = ParameterLocation.Header,
            Required = true,
            Description = description,
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        };
    }
}
