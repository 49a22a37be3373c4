using System.Text.Json.Nodes;
using AuthService.Api.Http;
using AuthService.Core.BypassCodes;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;
using static AuthService.Api.Hosting.DiscriminatedSchemas;

namespace AuthService.Api.Hosting;

/// <summary>The parts of the OpenAPI document that the endpoint metadata cannot say by itself:
/// <list type="bullet">
/// <item><c>ProblemDetails</c> with the extension members the service really sends (<c>code</c> as an enum of
/// <see cref="ProblemCodeCatalog"/>, <c>retryAfter</c>, <c>traceId</c>), so typed clients read them as properties;</item>
/// <item>enroll and switch-method answer 201 (TOTP) or 202 (phone) with one schema, <c>EnrollmentStarted</c>, a
/// <c>oneOf</c> with the <c>method</c> discriminator, so generators keep both shapes instead of the first; a challenge
/// likewise answers 202 (phone) or 200 (passkey) with one schema, <c>ChallengeStarted</c>;</item>
/// <item>response members whose values are a closed set of constants (<c>action</c>, verify's <c>method</c>, …) as enums;</item>
/// <item>the operator endpoints <c>/health/live</c>, <c>/health/ready</c> and <c>/metrics</c> (plain text, no key; a non-UTF-8
/// charset is refused there too, by <see cref="JsonCharset"/>).</item>
/// </list></summary>
public sealed class ContractDocumentFilter : IDocumentFilter
{
    public const string EnrollmentStarted = "EnrollmentStarted";
    public const string ChallengeStarted = "ChallengeStarted";
    private const string Totp = "TotpEnrollmentResponse";
    private const string Phone = "PhoneEnrollmentResponse";
    private const string Passkey = "PasskeyEnrollmentResponse";

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        var schemas = document.Components!.Schemas!;
        schemas["ProblemDetails"] = ProblemDetails();
        DescribeEnrollmentStarted(document, schemas, context);
        DescribeChallengeStarted(document, schemas);
        DescribeClosedSets(schemas);
        AddOperatorEndpoints(document);
    }

    /// <summary>Response members whose values are a closed set of constants in the code, as an <c>enum</c>, so a typed client
    /// can switch over them.</summary>
    private static void DescribeClosedSets(IDictionary<string, IOpenApiSchema> schemas)
    {
        void Set(string schema, string property, IOpenApiSchema value)
        {
            if (schemas.TryGetValue(schema, out var found) && found is OpenApiSchema { Properties: { } properties } && properties.ContainsKey(property))
            {
                properties[property] = value;
            }
        }

        Set(nameof(Policy.LoginDecisionResponse), "action", Enum(LoginDecision.Verify, LoginDecision.EnrollPrompt, LoginDecision.None));
        Set(nameof(Policy.LoginDecisionResponse), "reason", Enum(Policy.LoginDecisionResponse.TrustedDevice));
        Set(nameof(TwoFactor.VerifyResponse), "method",
            Enum(FactorMethods.Totp, FactorMethods.Phone, FactorMethods.Passkey, FactorMethods.BackupCode, BypassCodeRules.Method));
        // GET …/two-factor shows an enrollment or a switch; an added factor waits in the user's factors instead.
        Set(nameof(TwoFactor.PendingStatus), "purpose", Enum(PendingPurposes.Enroll, PendingPurposes.Switch));
        Set(nameof(Webhooks.WebhookDeliveryResponse), "status", Enum(Webhooks.WebhookDeliveryStatuses.All));
        foreach (var keys in new[] { nameof(ApiKeys.ApiKeyResponse), nameof(ApiKeys.CreatedApiKeyResponse) })
        {
            Set(keys, "scopes", new OpenApiSchema { Type = JsonSchemaType.Array, Items = Enum(Scopes.All) });
        }

        Set(nameof(Support.AuditEventResponse), "type", Enum(Events.AuditEvents.All));
    }

    private static OpenApiSchema ProblemDetails() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "RFC 9457 problem. Branch on `code`, never on `title` or `detail` (wording may change).",
        Required = new HashSet<string> { "type", "title", "status", "detail", "code" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "`https://authservice.dev/problems/` + code." },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["code"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = "The stable error code:\n" +
                              string.Join("\n", ProblemCodeCatalog.Codes.Select(c => $"- `{c.Key}`: {c.Value}")),
                Enum = ProblemCodeCatalog.Codes.Keys.Select(c => (JsonNode)JsonValue.Create(c)!).ToList(),
            },
            ["retryAfter"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Integer,
                Format = "int32",
                Description = "Seconds to wait before retrying, also sent as the `Retry-After` header. On every 429 (`too_many_attempts`, " +
                              "`daily_limit_exceeded`); on the 503s the service decides itself (`telephony_unavailable`, `telephony_capped`, " +
                              "`number_lookup_unavailable`, `secret_unavailable` of a proof), while a 503 from a failure (`database_unavailable`, " +
                              "`secret_unavailable` opening a phone number) has the header only; on 409 `idempotency_key_in_use` (the key's " +
                              "claim's time left, 1–5 s) and 409 `change_in_progress`; and on 502 `telephony_outcome_unknown` (how long to wait for the code before asking for another).",
            },
            ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Correlates the answer with the service's logs." },
        },
        AdditionalPropertiesAllowed = false,
    };

    private static void DescribeEnrollmentStarted(OpenApiDocument document, IDictionary<string, IOpenApiSchema> schemas, DocumentFilterContext context)
    {
        // The API explorer keeps one body type per status (enroll's 201 is TOTP or passkey): generate every shape.
        foreach (var type in new[] { typeof(TwoFactor.TotpEnrollmentResponse), typeof(TwoFactor.PhoneEnrollmentResponse), typeof(TwoFactor.Passkeys.PasskeyEnrollmentResponse) })
        {
            context.SchemaGenerator.GenerateSchema(type, context.SchemaRepository);
        }

        foreach (var (key, value) in context.SchemaRepository.Schemas)
        {
            schemas.TryAdd(key, value);
        }

        if (!schemas.ContainsKey(Totp) || !schemas.ContainsKey(Phone))
        {
            return;
        }

        var shapes = new[] { (Totp, "totp"), (Phone, "phone"), (Passkey, "passkey") }.Where(s => schemas.ContainsKey(s.Item1)).ToList();
        foreach (var (name, _) in shapes)
        {
            // Always sent; the discriminator needs `method` required in every alternative.
            var schema = (OpenApiSchema)schemas[name];
            schema.Required = new HashSet<string>(schema.Properties!.Keys);
        }

        DiscriminatedSchemas.OneOf(document, schemas, EnrollmentStarted,
            "What enroll or switch-method started: `method` `totp` (201) carries the secret and QR code to scan, " +
            "`method` `phone` (202) says where the code was sent, `method` `passkey` (201) carries the WebAuthn creation options.", shapes);
        DiscriminatedSchemas.Answer(document, EnrollmentStarted, ["TwoFactor_Enroll", "TwoFactor_SwitchMethod", "TwoFactor_AddFactor"], "201", "202");
    }

    /// <summary>A challenge answers 202 with a code sent to a phone or 200 with a passkey's request options: one schema,
    /// <c>ChallengeStarted</c>, under both statuses, told apart by <c>method</c> (Kiota otherwise keeps only the 200 shape).</summary>
    private static void DescribeChallengeStarted(OpenApiDocument document, IDictionary<string, IOpenApiSchema> schemas)
    {
        const string phone = nameof(TwoFactor.ChallengeResponse), passkey = nameof(TwoFactor.Passkeys.PasskeyChallengeResponse);
        if (!schemas.ContainsKey(phone) || !schemas.ContainsKey(passkey))
        {
            return;
        }

        foreach (var name in new[] { phone, passkey })
        {
            var schema = (OpenApiSchema)schemas[name];
            schema.Required = new HashSet<string>(schema.Properties!.Keys);
        }

        DiscriminatedSchemas.OneOf(document, schemas, ChallengeStarted,
            "What a challenge started: `method` `phone` (202) says where the code was sent, `method` `passkey` (200) carries the WebAuthn request options.",
            [(phone, "phone"), (passkey, "passkey")]);
        DiscriminatedSchemas.Answer(document, ChallengeStarted, ["TwoFactor_Challenge"], "200", "202");
    }

    private static void AddOperatorEndpoints(OpenApiDocument document)
    {
        document.Paths["/health/live"] = PlainText(document, "Health_Live", "Liveness",
            "200 `Healthy` while the process serves requests. Never touches the database, so an outage does not get instances restarted.",
            ("200", "The process serves requests."));
        document.Paths["/health/ready"] = PlainText(document, "Health_Ready", "Readiness",
            "200 `Healthy` when the database answers, every migration is applied and this instance's clock is within `Health:MaxClockSkew` " +
            "(2 s) of the database's, else 503 `Unhealthy: ` and the reason. Take the instance out of the load balancer on 503.",
            ("200", "Ready."), ("503", "Not ready: the database is unreachable, a migration is missing or the clock is off the database's."));
        var metrics = PlainText(document, "Metrics_Scrape", "Prometheus metrics",
            "Prometheus text format: request latency by route, code deliveries, verifications, limit hits, lockouts, telephony circuit state, clock skew. " +
            "A scraper that asks for OpenMetrics (`Accept: application/openmetrics-text`, as Prometheus does) gets that format.",
            ("200", "Metrics of this instance."));
        metrics.Operations![HttpMethod.Get].Responses!["200"].Content!["application/openmetrics-text"] =
            new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
        document.Paths["/metrics"] = metrics;
    }

    private static OpenApiPathItem PlainText(OpenApiDocument document, string operationId, string summary, string description, params (string Status, string Text)[] answers)
    {
        var responses = new OpenApiResponses();
        foreach (var (status, text) in answers)
        {
            responses[status] = new OpenApiResponse
            {
                Description = text,
                Content = new Dictionary<string, IOpenApiMediaType>
                {
                    ["text/plain"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                },
            };
        }

        // No route logic can refuse these GETs; only Kestrel can, before the application, and with an empty body.
        responses["400"] = new OpenApiResponse
        {
            Description = "The HTTP server refused the request before the application (a malformed request line or headers): empty body.",
        };

        // Http/JsonCharset runs for every route, these too.
        responses["415"] = new OpenApiResponse
        {
            Description = "The request's `Content-Type` names a charset other than UTF-8 (refused even without a body). Problem `code`: `unsupported_media_type`.",
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["application/problem+json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference("ProblemDetails", document) },
            },
            Extensions = new Dictionary<string, IOpenApiExtension>
            {
                [ProblemCodesOperationFilter.CodesExtension] = new JsonNodeExtension(new JsonArray(JsonValue.Create(ProblemCodes.UnsupportedMediaType))),
            },
        };

        return new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = new()
                {
                    Tags = new HashSet<OpenApiTagReference> { new("Operations") },
                    Summary = summary,
                    Description = description + " No API key needed.",
                    OperationId = operationId,
                    Security = [],
                    Responses = responses,
                },
            },
        };
    }
}
