using System.Text.Json.Nodes;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Infrastructure.Contract;
using Json.Schema;

namespace AuthService.Tests.Contract;

/// <summary>Issue 7's promise on the published document (openapi.yaml, which <see cref="OpenApiContractTests"/> holds equal to
/// the served one): every operation has a summary and a description, and every JSON body it takes or answers has an example
/// (Swagger UI pre-fills *Try it out* with it, generated clients show it), valid against the schema it illustrates.</summary>
public class DocumentedOperationsTests
{
    private static readonly JsonObject Document = OpenApiContract.DocumentJson(Path.Combine(Repo.Root, "openapi.yaml"));

    private static JsonObject Schemas => Document["components"]!["schemas"]!.AsObject();

    private static IEnumerable<(string Id, JsonObject Operation)> Operations() =>
        Document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject())
            .Where(o => o.Value is JsonObject { } op && op.ContainsKey("responses"))
            .Select(o => (o.Value!["operationId"]!.GetValue<string>(), o.Value!.AsObject()));

    /// <summary>Each body of an operation: "request" or its status, its media type, and the media type object.</summary>
    private static IEnumerable<(string Body, string Type, JsonObject Media)> Bodies(JsonObject operation)
    {
        var bodies = new[] { ("request", operation["requestBody"]) }
            .Concat(operation["responses"]!.AsObject().Select(r => (r.Key, r.Value)));
        foreach (var (body, value) in bodies)
        {
            foreach (var (type, media) in value?["content"] as JsonObject ?? [])
            {
                yield return (body, type, media!.AsObject());
            }
        }
    }

    [Test]
    public void Every_operation_has_a_summary_and_a_description()
    {
        var missing = Operations()
            .SelectMany(o => new[] { "summary", "description" }
                .Where(k => string.IsNullOrWhiteSpace(o.Operation[k]?.GetValue<string>())).Select(k => $"{o.Id}: no {k}"))
            .ToList();
        Assert.That(string.Join("\n", missing), Is.Empty, "operations missing a summary or a description");
    }

    /// <summary>An example counts on the media type, on its schema, or anywhere inside that schema (a property's, an item's,
    /// a referenced component's): Swagger UI builds the body's example from the nearest ones.</summary>
    [Test]
    public void Every_json_body_has_an_example()
    {
        var missing = Operations()
            .SelectMany(o => Bodies(o.Operation)
                .Where(b => b.Type == "application/json" && !b.Media.ContainsKey("example") && b.Media["examples"] is not JsonObject { Count: > 0 } &&
                            !HasExample(b.Media["schema"], []))
                .Select(b => $"{o.Id} {b.Body}: no example ({b.Media["schema"]?.ToJsonString()})"))
            .ToList();
        Assert.That(string.Join("\n", missing), Is.Empty, "JSON bodies without an example");
    }

    private static bool HasExample(JsonNode? schema, HashSet<string> followed)
    {
        if (schema is not JsonObject s)
        {
            return false;
        }

        if (s.ContainsKey("example") || s["examples"] is JsonArray { Count: > 0 })
        {
            return true;
        }

        if (s["$ref"]?.GetValue<string>() is { } reference)
        {
            var name = reference.Split('/')[^1];
            return followed.Add(name) && HasExample(Schemas[name], followed);
        }

        return new[] { s["items"], s["additionalProperties"] }
            .Concat(new[] { "allOf", "oneOf", "anyOf" }.SelectMany(k => s[k] as JsonArray ?? []))
            .Concat((s["properties"] as JsonObject ?? []).Select(p => p.Value))
            .Any(child => HasExample(child, followed));
    }

    /// <summary>An example that breaks its own schema teaches the integrator a body the service refuses (or never sends): every
    /// example of a body (the media type's, problem+json included) and of a schema (a component's, a property's, an item's) is evaluated against
    /// the schema it stands beside, as the contract check evaluates answers (<see cref="OpenApiJsonSchema"/>).</summary>
    [Test]
    public void Every_example_is_valid_against_its_schema()
    {
        var examples = new List<(string Where, JsonNode Schema, JsonNode? Example)>();
        foreach (var (id, operation) in Operations())
        {
            foreach (var (body, type, media) in Bodies(operation))
            {
                if (media["schema"] is not { } schema)
                {
                    continue;
                }

                if (media.TryGetPropertyValue("example", out var example))
                {
                    examples.Add(($"{id} {body} {type}", schema, example));
                }

                foreach (var (name, named) in media["examples"] as JsonObject ?? [])
                {
                    examples.Add(($"{id} {body} {type} (example {name})", schema, named?["value"]));
                }
            }
        }

        foreach (var (name, schema) in Schemas)
        {
            CollectSchemaExamples($"#/components/schemas/{name}", schema, examples);
        }

        Assert.That(examples, Has.Count.GreaterThan(30), "the walk found the document's examples");
        var invalid = new List<string>();
        var compiled = new Dictionary<string, JsonSchema>();
        foreach (var (where, schema, example) in examples)
        {
            var key = schema.ToJsonString();
            if (!compiled.TryGetValue(key, out var jsonSchema))
            {
                compiled[key] = jsonSchema = JsonSchema.FromText(OpenApiJsonSchema.Document(schema, Schemas).ToJsonString());
            }

            var results = jsonSchema
                .Evaluate(example, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
            if (!results.IsValid)
            {
                invalid.Add($"{where}: " + string.Join("; ", results.Details.Where(d => d.HasErrors)
                    .SelectMany(d => d.Errors!.Select(e => $"at {d.InstanceLocation}: {e.Value}")).Distinct().Take(4)));
            }
        }

        Assert.That(string.Join("\n", invalid), Is.Empty, "examples their schema refuses");
    }

    private static void CollectSchemaExamples(string where, JsonNode? schema, List<(string, JsonNode, JsonNode?)> examples)
    {
        if (schema is not JsonObject s)
        {
            return;
        }

        if (s.TryGetPropertyValue("example", out var example))
        {
            examples.Add((where, s, example));
        }

        foreach (var (i, each) in (s["examples"] as JsonArray ?? []).Index())
        {
            examples.Add(($"{where}/examples/{i}", s, each));
        }

        CollectSchemaExamples($"{where}/items", s["items"], examples);
        CollectSchemaExamples($"{where}/additionalProperties", s["additionalProperties"], examples);
        foreach (var key in new[] { "allOf", "oneOf", "anyOf" })
        {
            foreach (var (i, child) in (s[key] as JsonArray ?? []).Index())
            {
                CollectSchemaExamples($"{where}/{key}/{i}", child, examples);
            }
        }

        foreach (var (name, property) in s["properties"] as JsonObject ?? [])
        {
            CollectSchemaExamples($"{where}/properties/{name}", property, examples);
        }
    }
}
