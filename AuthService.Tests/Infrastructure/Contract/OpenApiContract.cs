using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace AuthService.Tests.Infrastructure.Contract;

/// <summary><c>openapi.yaml</c> as a checker of real answers. The document is parsed by Microsoft.OpenApi (the library
/// Swashbuckle writes it with, so both read it the same way) and each response schema is evaluated by JsonSchema.Net
/// (JSON Schema 2020-12) after <see cref="OpenApiJsonSchema"/> translated it. A response must have a status documented
/// for its operation, every header that status declares <c>required</c> (<c>Retry-After</c>), a documented content type, a
/// body valid against that content's schema, and for a problem a <c>code</c> the operation lists for that status
/// (<c>x-problem-codes</c>).</summary>
public sealed class OpenApiContract
{
    /// <summary>Paths outside the contract: Swagger UI and the document itself.</summary>
    private static readonly string[] Undescribed = ["/swagger/"];

    private static readonly Lazy<OpenApiContract> Published = new(() => Load(Path.Combine(Repo.Root, "openapi.yaml")));

    private readonly List<Operation> _operations;
    private readonly JsonObject _components;
    private readonly ConcurrentDictionary<string, JsonSchema> _schemas = new();
    private readonly ConcurrentDictionary<string, int> _covered = new();

    private OpenApiContract(List<Operation> operations, JsonObject components)
    {
        _operations = operations;
        _components = components;
    }

    public static OpenApiContract Current => Published.Value;

    /// <summary>Every "operation status" the document declares, for the coverage summary (not the 500s: no test should meet one).</summary>
    public IEnumerable<string> DeclaredResponses =>
        _operations.SelectMany(o => o.Responses.Where(r => r.Key != "500").Select(r => $"{o.Id} {r.Key}"));

    /// <summary>How many answers were checked per "operation status".</summary>
    public IReadOnlyDictionary<string, int> Covered => _covered;

    /// <summary>openapi.yaml as Microsoft.OpenApi reads and writes it back, as JSON.</summary>
    public static JsonObject DocumentJson(string path)
    {
        var settings = new OpenApiReaderSettings();
        settings.AddYamlReader();
        var (document, diagnostic) = OpenApiDocument.Parse(File.ReadAllText(path), "yaml", settings);
        if (document is null || diagnostic?.Errors.Count > 0)
        {
            throw new InvalidOperationException($"{path} does not parse: " + string.Join("; ", diagnostic?.Errors ?? []));
        }

        using var text = new StringWriter();
        document.SerializeAsV3(new OpenApiJsonWriter(text));
        return JsonNode.Parse(text.ToString())!.AsObject();
    }

    public static OpenApiContract Load(string path)
    {
        var json = DocumentJson(path);
        var operations = new List<Operation>();
        foreach (var (template, item) in json["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (operation is JsonObject o && o["responses"] is JsonObject responses)
                {
                    operations.Add(new Operation(method.ToUpperInvariant(), template, template.Split('/'),
                        o["operationId"]?.GetValue<string>() ?? $"{method.ToUpperInvariant()} {template}", responses));
                }
            }
        }

        return new OpenApiContract(operations, json["components"]?["schemas"]?.AsObject() ?? []);
    }

    /// <summary>Null when the answer matches the document, else what is wrong (operation, status, JSON path, problem
    /// <c>code</c>, missing header). <paramref name="hasHeader"/> says whether the answer carries a header (null: headers are
    /// not checked).</summary>
    public string? Check(string method, string path, int status, string? mediaType, string body, Func<string, bool>? hasHeader = null)
    {
        if (Undescribed.Any(p => path.StartsWith(p, StringComparison.Ordinal)))
        {
            return null;
        }

        var segments = path.Split('/');
        var candidates = _operations.Where(o => o.Matches(segments)).ToList();
        if (candidates.Count == 0)
        {
            // No route: the framework's 404, which must still be a problem like every other 4xx.
            return status == 404 ? CheckProblem(status, mediaType, body, "unknown path (404)")
                : $"{path} is not a path of openapi.yaml, yet it answered {status} (only 404 is expected there)";
        }

        var operation = candidates.Where(o => o.Method == method).MaxBy(o => o.LiteralSegments);
        if (operation is null)
        {
            return status == 405 ? CheckProblem(status, mediaType, body, "method not allowed (405)")
                : $"{method} is not documented for {candidates[0].Template} (documented: {string.Join(", ", candidates.Select(c => c.Method))}), yet it answered {status}";
        }

        if (status == 500)
        {
            return "a 500 is a defect whatever the document declares (it declares one on every operation for typed clients)";
        }

        var declared = operation.Responses[status.ToString()] ?? operation.Responses[$"{status / 100}XX"] ?? operation.Responses["default"];
        if (declared is not JsonObject response)
        {
            return $"status {status} is not documented for {operation.Id} ({operation.Method} {operation.Template}); documented: " +
                   string.Join(", ", operation.Responses.Select(r => r.Key));
        }

        _covered.AddOrUpdate($"{operation.Id} {declared.GetPropertyName()}", 1, (_, n) => n + 1);
        var where = $"{operation.Id} ({operation.Method} {operation.Template}) response {status}";
        if (hasHeader is not null && MissingHeaders(response, hasHeader) is { Count: > 0 } missing)
        {
            return $"{where}: the required header {string.Join(", ", missing)} is missing";
        }

        if (response["content"] is not JsonObject { Count: > 0 } content)
        {
            return body.Length == 0 ? null : $"{where} documents no body, yet one came ({mediaType}, {body.Length} chars)";
        }

        if (mediaType is null || content[mediaType] is not JsonObject media)
        {
            return $"{where}: content type '{mediaType ?? "(none)"}'{(body.Length == 0 ? " with an empty body" : "")} is not documented; documented: " +
                   string.Join(", ", content.Select(c => c.Key));
        }

        return (media["schema"] is { } schema && IsJson(mediaType) ? Validate(where, schema, status, mediaType, body) : null)
               ?? UndeclaredCode(where, response, mediaType, body);
    }

    private const string CodesExtension = "x-problem-codes";

    /// <summary>A problem's <c>code</c> must be one the operation declares for that status (<c>x-problem-codes</c>, which every
    /// problem response of the document lists): the catalog's enum alone would let a route answer another route's code
    /// unnoticed.</summary>
    private static string? UndeclaredCode(string where, JsonObject response, string mediaType, string body)
    {
        if (mediaType != "application/problem+json")
        {
            return null;
        }

        if (response[CodesExtension] is not JsonArray declared)
        {
            return $"{where}: openapi.yaml lists no problem codes for this response ({CodesExtension}), so no code can be declared";
        }

        var code = JsonNode.Parse(body)?["code"]?.GetValue<string>();
        var codes = declared.Select(c => c!.GetValue<string>()).ToList();
        return code is not null && codes.Contains(code) ? null
            : $"{where}: problem code '{code}' is not one the operation declares for this status ({string.Join(", ", codes)})";
    }

    /// <summary>The headers <paramref name="response"/> declares <c>required</c> that the answer lacks.</summary>
    private static List<string> MissingHeaders(JsonObject response, Func<string, bool> hasHeader) =>
        response["headers"] is JsonObject headers
            ? headers.Where(h => h.Value?["required"]?.GetValueKind() == JsonValueKind.True && !hasHeader(h.Key)).Select(h => h.Key).ToList()
            : [];

    private string? CheckProblem(int status, string? mediaType, string body, string where) =>
        mediaType == "application/problem+json"
            ? Validate(where, new JsonObject { ["$ref"] = "#/components/schemas/ProblemDetails" }, status, mediaType, body)
            : $"{where}: content type '{mediaType ?? "(none)"}', expected application/problem+json";

    private string? Validate(string where, JsonNode schema, int status, string mediaType, string body)
    {
        JsonNode? instance;
        try
        {
            instance = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            return $"{where}: the {mediaType} body is not JSON ({e.Message})";
        }

        var key = schema.ToJsonString();
        var compiled = _schemas.GetOrAdd(key, _ => JsonSchema.FromText(OpenApiJsonSchema.Document(schema, _components).ToJsonString()));
        EvaluationResults results;
        lock (compiled)
        {
            results = compiled.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        }

        var failures = results.IsValid ? [] : results.Details.Where(d => d.HasErrors)
            .SelectMany(d => d.Errors!.Select(e => $"at {Pointer(d.InstanceLocation.ToString())}: {e.Value} (schema {d.EvaluationPath}/{e.Key})"))
            .Distinct().Take(8).ToList();
        if (mediaType == "application/problem+json" && instance?["status"] is JsonValue s && s.TryGetValue<int>(out var inBody) && inBody != status)
        {
            failures.Add($"at /status: the problem says {inBody}, the HTTP status is {status}");
        }

        return failures.Count == 0 ? null : $"{where}: the body does not match openapi.yaml\n  " + string.Join("\n  ", failures);
    }

    private static string Pointer(string pointer) => pointer.Length == 0 ? "/" : pointer;

    private static bool IsJson(string mediaType) => mediaType.EndsWith("/json", StringComparison.Ordinal) || mediaType.EndsWith("+json", StringComparison.Ordinal);

    private sealed record Operation(string Method, string Template, string[] Segments, string Id, JsonObject Responses)
    {
        public int LiteralSegments => Segments.Count(s => !s.StartsWith('{'));

        public bool Matches(string[] path) =>
            path.Length == Segments.Length &&
            Segments.Zip(path).All(p => p.First.StartsWith('{') ? p.Second.Length > 0 : string.Equals(p.First, p.Second, StringComparison.Ordinal));
    }
}
