using AuthService.Api.Http;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.Hosting;

/// <summary>Writes each problem response's <c>code</c> values into its description, an example body and the
/// <c>x-problem-codes</c> extension (the list the tests' contract check holds every answer's <c>code</c> to), so an
/// integrator reading Swagger sees exactly what to branch on; and declares the <c>Retry-After</c> header where it is sent.
/// A route's <see cref="DeclaredProblemCodes"/> replace the defaults of a status; the defaults follow what the route takes:
/// a JSON body the framework binds (<c>validation_failed</c>, <c>invalid_json</c>, <c>unknown_field</c>), a query or header
/// parameter whose binding can fail (<c>invalid_parameter</c>), a <c>{userId}</c> (<c>invalid_user_id</c>).</summary>
public sealed class ProblemCodesOperationFilter : IOperationFilter
{
    /// <summary>The extension on each problem response that lists its <c>code</c> values.</summary>
    public const string CodesExtension = "x-problem-codes";

    private static readonly Dictionary<int, string[]> Defaults = new()
    {
        [401] = [ProblemCodes.Unauthorized],
        [403] = [ProblemCodes.Forbidden],
        [413] = [ProblemCodes.PayloadTooLarge],
        [415] = [ProblemCodes.UnsupportedMediaType],
        [503] = [ProblemCodes.DatabaseUnavailable],
        [500] = [ProblemCodes.InternalError],
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var declared = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<DeclaredProblemCodes>()
            .GroupBy(p => p.Status).ToDictionary(g => g.Key, g => g.SelectMany(p => p.Codes).Distinct().ToArray());
        if (declared.Values.SelectMany(c => c).FirstOrDefault(c => !Http.ProblemCodeCatalog.Codes.ContainsKey(c)) is { } unknown)
        {
            throw new InvalidOperationException($"{operation.OperationId} declares problem code '{unknown}', which is not in ProblemCodeCatalog.");
        }

        var bindsBody = BindsJsonBody(context.ApiDescription);
        var typedIds = TypedPathIds(context.ApiDescription);

        // Every route reads the API key from PostgreSQL, so any of them can find it unreachable.
        AddProblem(operation, context, "503", "Service Unavailable");
        // Declared so that a typed client reads its problem (the code and the traceId to report) rather than a bare error.
        AddProblem(operation, context, "500", "Internal Server Error: a defect of the service, never a refusal of the request; report its `traceId`");
        if (operation.RequestBody is not null)
        {
            // Kestrel's body limit answers this as the body is read.
            AddProblem(operation, context, "413", "Payload Too Large");
        }

        // Http/JsonCharset refuses a Content-Type naming a charset other than UTF-8 on every route, with a body or without.
        AddProblem(operation, context, "415", operation.RequestBody is null
            ? "Unsupported Media Type: the request's `Content-Type` names a charset other than UTF-8 (refused even without a body)"
            : "Unsupported Media Type");
        if (typedIds.Count > 0)
        {
            // A path id that does not parse matches no route: the framework's 404, before authentication.
            AddProblem(operation, context, "404", "Not Found");
        }

        foreach (var (key, value) in (operation.Responses ?? []).ToList())
        {
            if (!int.TryParse(key, out var status) || status < 400 || value is not OpenApiResponse response)
            {
                continue;
            }

            var codes = declared.GetValueOrDefault(status) ?? Defaults.GetValueOrDefault(status) ??
                (status == 400 ? BadRequestDefaults(context.ApiDescription, bindsBody) : null);
            if (codes is null)
            {
                continue;
            }

            // Wherever the framework binds a JSON body it can also carry an unknown member (StrictJson, every route alike).
            if (bindsBody && codes.Contains(ProblemCodes.InvalidJson) && !codes.Contains(ProblemCodes.UnknownField))
            {
                codes = [.. codes, ProblemCodes.UnknownField];
            }

            if (status == 404 && typedIds.Count > 0 && !codes.Contains(ProblemCodes.NotFound))
            {
                codes = [.. codes, ProblemCodes.NotFound];
            }

            if (codes.Length == 0)
            {
                operation.Responses!.Remove(key); // nothing on this route answers it
                continue;
            }

            response.Description = $"{response.Description}. Problem `code`: {string.Join(", ", codes.Select(c => $"`{c}`"))}.";
            if (status == 404 && typedIds.Count > 0)
            {
                var malformed = string.Join(" or ", typedIds.Select(i => $"a `{{{i.Name}}}` that is not {i.Kind}"));
                response.Description += $" {char.ToUpperInvariant(malformed[0])}{malformed[1..]} matches no route: 404 `{ProblemCodes.NotFound}`, " +
                                        "answered before the API key is checked.";
            }

            response.Extensions ??= new Dictionary<string, IOpenApiExtension>();
            response.Extensions[CodesExtension] = new JsonNodeExtension(new JsonArray(codes.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray()));
            if (RetryAfter(status, codes) is { } retryAfter)
            {
                response.Headers ??= new Dictionary<string, IOpenApiHeader>();
                response.Headers["Retry-After"] = new OpenApiHeader
                {
                    Description = retryAfter.Description,
                    Required = retryAfter.Required,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
                };
            }

            if (response.Content?.TryGetValue("application/problem+json", out var media) == true && media is OpenApiMediaType problemMedia)
            {
                problemMedia.Example = JsonSerializer.SerializeToNode(new
                {
                    type = Http.Problems.TypeBase + codes[0],
                    title = "…",
                    status,
                    detail = codes[0] switch
                    {
                        ProblemCodes.DailyLimitExceeded => Http.Problems.DailyLimitMessage,
                        ProblemCodes.TooManyAttempts => Http.Problems.AttemptsLimitMessage,
                        _ => "…",
                    },
                    code = codes[0],
                }, JsonSerializerOptions.Web);
            }
        }
    }

    /// <summary>When the answer carries <c>Retry-After</c> (whole seconds): every 429 and every 503 problem (the 503s of
    /// <see cref="ErrorHandling"/> and every 503 <see cref="Problem"/>, through <see cref="RetryAfterHeaderFilter"/>), and the
    /// 409 and 502 problems that carry <c>retryAfter</c>.</summary>
    private static (bool Required, string Description)? RetryAfter(int status, string[] codes) => status switch
    {
        429 => (true, "Seconds to wait before trying again (the problem's `retryAfter`)."),
        503 => (true, "Seconds to wait before retrying (the problem's `retryAfter` when it has one)."),
        _ when codes.Contains(ProblemCodes.IdempotencyKeyInUse) =>
            (false, $"With `{ProblemCodes.IdempotencyKeyInUse}`: seconds before asking again, the claim's time left from 1 to 5 (the problem's `retryAfter`)."),
        _ when codes.Contains(ProblemCodes.ChangeInProgress) =>
            (false, $"With `{ProblemCodes.ChangeInProgress}`: seconds to wait for the user's other change to be sent (the problem's `retryAfter`)."),
        _ when codes.Contains(ProblemCodes.TelephonyOutcomeUnknown) =>
            (false, $"With `{ProblemCodes.TelephonyOutcomeUnknown}`: seconds to wait for the code before asking for another (the problem's `retryAfter`)."),
        _ => null,
    };

    /// <summary>The 400 codes a route can answer by what it takes (its own declaration replaces these).</summary>
    private static string[] BadRequestDefaults(ApiDescription api, bool bindsBody)
    {
        var codes = new List<string>();
        if (bindsBody)
        {
            codes.AddRange([ProblemCodes.ValidationFailed, ProblemCodes.InvalidJson]);
        }

        // A query or header value that is not of its type (limit=abc), or a required one missing; a string that may be absent
        // always binds, and a route value that does not fit its constraint finds no route (404) instead.
        if (api.ParameterDescriptions.Any(p => (p.Source == BindingSource.Query || p.Source == BindingSource.Header) &&
                                                (p.IsRequired || (Nullable.GetUnderlyingType(p.Type) ?? p.Type) != typeof(string))))
        {
            codes.Add(ProblemCodes.InvalidParameter);
        }

        if (api.ParameterDescriptions.Any(p => p.Source == BindingSource.Path && p.Name == "userId"))
        {
            codes.Add(ProblemCodes.InvalidUserId);
        }

        return [.. codes];
    }

    /// <summary>True when the framework binds the request body to a parameter of the handler (so <see cref="StrictJson"/>
    /// and the JSON reader answer for it); false for a route that reads the raw body itself (Telnyx's callback).</summary>
    private static bool BindsJsonBody(ApiDescription api) =>
        api.ParameterDescriptions.FirstOrDefault(p => p.Source == BindingSource.Body) is { } body &&
        api.ActionDescriptor.EndpointMetadata.OfType<MethodInfo>().FirstOrDefault() is { } handler &&
        handler.GetParameters().Any(p => p.ParameterType == body.Type);

    /// <summary>The path parameters with a route constraint (<c>{id:guid}</c>, <c>{deliveryId:long}</c>) and what they must be.</summary>
    private static List<(string Name, string Kind)> TypedPathIds(ApiDescription api)
    {
        if (api.RelativePath is not { } template)
        {
            return [];
        }

        return RoutePatternFactory.Parse(template).Parameters.Where(p => p.ParameterPolicies.Count > 0)
            .Select(p => (p.Name, p.ParameterPolicies[0].Content switch
            {
                "guid" => "a UUID",
                "long" or "int" => "an integer",
                var other => $"a {other}",
            })).ToList();
    }

    private static void AddProblem(OpenApiOperation operation, OperationFilterContext context, string status, string description)
    {
        operation.Responses ??= new OpenApiResponses();
        if (operation.Responses.ContainsKey(status))
        {
            return;
        }

        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["application/problem+json"] = new OpenApiMediaType
                {
                    Schema = context.SchemaGenerator.GenerateSchema(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), context.SchemaRepository),
                },
            },
        };
    }
}
