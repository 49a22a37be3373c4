using System.Text.Json.Nodes;

namespace AuthService.Tests.Infrastructure.Contract;

/// <summary>Turns an OpenAPI 3.0 schema object (as JSON) into JSON Schema 2020-12 that JsonSchema.Net evaluates:
/// <list type="bullet">
/// <item><c>$ref: #/components/schemas/X</c> → <c>#/$defs/X</c> (the components are copied into <c>$defs</c>);</item>
/// <item><c>nullable: true</c> admits null only beside a <c>type</c>, as OpenAPI 3.0.3 says and Prism reads it:
/// <c>type: [T, "null"]</c> (an <c>enum</c> admits null only when it lists it, 3.0.3 §4.7.24.1), and for a schema with
/// a <c>type</c> and <c>allOf</c>/<c>oneOf</c>/<c>anyOf</c>/<c>$ref</c>, <c>anyOf: [{type: null}, rest]</c>. A
/// <c>nullable</c> without a <c>type</c> (a bare <c>allOf</c> + <c>nullable</c>) admits no null, as Prism refuses
/// <c>pending: null</c> there;</item>
/// <item><c>format: int32</c>/<c>int64</c> bound the integer to its range (Prism's formats);</item>
/// <item>boolean <c>exclusiveMinimum</c>/<c>exclusiveMaximum</c> become the numeric 2020-12 form;</item>
/// <item>annotations that are not JSON Schema (<c>example</c>, <c>discriminator</c>, <c>xml</c>, <c>x-*</c>, …) are dropped;
/// <c>format</c> is kept only for <c>date-time</c> and <c>uuid</c>, whose values are checked.</item>
/// </list></summary>
public static class OpenApiJsonSchema
{
    private const string ComponentPrefix = "#/components/schemas/";

    private static readonly HashSet<string> Dropped =
        ["example", "examples", "discriminator", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly"];

    private static readonly HashSet<string> CheckedFormats = ["date-time", "uuid"];

    private static readonly Dictionary<string, (long Min, long Max)> IntegerFormats = new()
    {
        ["int32"] = (int.MinValue, int.MaxValue),
        ["int64"] = (long.MinValue, long.MaxValue),
    };

    /// <summary>A standalone 2020-12 schema for <paramref name="schema"/>, with every component schema in <c>$defs</c>.</summary>
    public static JsonObject Document(JsonNode schema, JsonObject components)
    {
        var root = Convert(schema) as JsonObject ?? new JsonObject();
        var defs = new JsonObject();
        foreach (var (name, component) in components)
        {
            defs[name] = Convert(component);
        }

        root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        root["$defs"] = defs;
        return root;
    }

    public static JsonNode? Convert(JsonNode? node)
    {
        if (node is not JsonObject source)
        {
            return node?.DeepClone();
        }

        var result = new JsonObject();
        var nullable = false;
        foreach (var (key, value) in source)
        {
            switch (key)
            {
                case "nullable":
                    nullable = value?.GetValueKind() == System.Text.Json.JsonValueKind.True;
                    break;
                case "$ref":
                    var target = value!.GetValue<string>();
                    result["$ref"] = target.StartsWith(ComponentPrefix, StringComparison.Ordinal)
                        ? "#/$defs/" + target[ComponentPrefix.Length..]
                        : target;
                    break;
                case "properties" or "patternProperties":
                    var properties = new JsonObject();
                    foreach (var (name, property) in value!.AsObject())
                    {
                        properties[name] = Convert(property);
                    }

                    result[key] = properties;
                    break;
                case "items" or "additionalProperties" or "not":
                    result[key] = Convert(value);
                    break;
                case "allOf" or "oneOf" or "anyOf":
                    result[key] = new JsonArray(value!.AsArray().Select(Convert).ToArray());
                    break;
                case "format":
                    if (CheckedFormats.Contains(value!.GetValue<string>()))
                    {
                        result[key] = value.DeepClone();
                    }
                    else if (IntegerFormats.TryGetValue(value.GetValue<string>(), out var range))
                    {
                        result["minimum"] ??= range.Min;
                        result["maximum"] ??= range.Max;
                    }

                    break;
                case "exclusiveMinimum" or "exclusiveMaximum" when value?.GetValueKind() is System.Text.Json.JsonValueKind.True
                    or System.Text.Json.JsonValueKind.False:
                    break; // handled below with minimum/maximum
                case var annotation when Dropped.Contains(annotation) || annotation.StartsWith("x-", StringComparison.Ordinal):
                    break;
                default:
                    result[key] = value?.DeepClone();
                    break;
            }
        }

        ExclusiveBound(source, result, "exclusiveMinimum", "minimum");
        ExclusiveBound(source, result, "exclusiveMaximum", "maximum");
        return nullable ? Nullable(result) : result;
    }

    private static void ExclusiveBound(JsonObject source, JsonObject result, string exclusive, string bound)
    {
        if (source[exclusive]?.GetValueKind() == System.Text.Json.JsonValueKind.True && result[bound] is { } limit)
        {
            result.Remove(bound);
            result[exclusive] = limit.DeepClone();
        }
    }

    private static JsonObject Nullable(JsonObject schema)
    {
        if (schema["type"] is not JsonValue type)
        {
            return schema; // OpenAPI 3.0.3: `nullable` without `type` means nothing (Prism refuses the null)
        }

        var composite = schema.ContainsKey("$ref") || schema.ContainsKey("allOf") || schema.ContainsKey("oneOf") || schema.ContainsKey("anyOf");
        if (!composite)
        {
            schema["type"] = new JsonArray(type.GetValue<string>(), "null");
            return schema;
        }

        return new JsonObject { ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "null" }, schema) };
    }
}
