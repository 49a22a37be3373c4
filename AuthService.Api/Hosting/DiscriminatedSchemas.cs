using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace AuthService.Api.Hosting;

/// <summary>Builders for the schemas of DESIGN §9.6: a <c>oneOf</c> whose alternatives a <c>method</c> discriminator tells
/// apart (every alternative requires <c>method</c> and pins it to its one value, so a plain JSON Schema validator such as
/// Prism's also finds exactly one match), and the small rewrites of a generated property (required, enum).</summary>
public static class DiscriminatedSchemas
{
    public const string Discriminator = "method";

    /// <summary>Registers <paramref name="name"/> as a <c>oneOf</c> of the named shapes, discriminated by <c>method</c>.</summary>
    public static void OneOf(OpenApiDocument document, IDictionary<string, IOpenApiSchema> schemas, string name, string description,
        IReadOnlyList<(string Schema, string Method)> shapes)
    {
        foreach (var (shape, method) in shapes)
        {
            var schema = (OpenApiSchema)schemas[shape];
            schema.Properties![Discriminator] = Enum(method);
            schema.Required ??= new HashSet<string>();
            schema.Required.Add(Discriminator);
        }

        schemas[name] = new OpenApiSchema
        {
            Description = description,
            OneOf = shapes.Select(s => (IOpenApiSchema)new OpenApiSchemaReference(s.Schema, document)).ToList(),
            Discriminator = new OpenApiDiscriminator
            {
                PropertyName = Discriminator,
                Mapping = shapes.ToDictionary(s => s.Method, s => new OpenApiSchemaReference(s.Schema, document)),
            },
        };
    }

    /// <summary>Every answer of <paramref name="operationIds"/> with one of <paramref name="statuses"/> gets the schema
    /// <paramref name="name"/>: one schema for every 2xx of an operation, so generators keep every shape.</summary>
    public static void Answer(OpenApiDocument document, string name, string[] operationIds, params string[] statuses)
    {
        foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []))
        {
            if (!operationIds.Contains(operation.OperationId))
            {
                continue;
            }

            foreach (var status in statuses)
            {
                if (operation.Responses?.TryGetValue(status, out var response) == true && response is OpenApiResponse concrete)
                {
                    concrete.Content = new Dictionary<string, IOpenApiMediaType>
                    {
                        ["application/json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(name, document) },
                    };
                }
            }
        }
    }

    /// <summary>A string that is one of <paramref name="values"/> (never null).</summary>
    public static OpenApiSchema Enum(params IEnumerable<string> values) => new()
    {
        Type = JsonSchemaType.String,
        Enum = values.Select(v => (JsonNode)JsonValue.Create(v)!).ToList(),
    };

    /// <summary>An array of 1..<paramref name="maxItems"/> distinct strings out of <paramref name="values"/>.</summary>
    public static OpenApiSchema EnumArray(IEnumerable<string> values, int? maxItems = null) => new()
    {
        Type = JsonSchemaType.Array,
        Items = Enum(values),
        MinItems = 1,
        MaxItems = maxItems,
    };

    /// <summary>The property without its <c>null</c>: a nullable reference (<c>allOf: [$ref]</c> + <c>nullable</c>) becomes the
    /// bare reference, a nullable plain type the same type.</summary>
    public static IOpenApiSchema NotNull(IOpenApiSchema property)
    {
        if (property is OpenApiSchema { AllOf: [OpenApiSchemaReference reference] })
        {
            return reference;
        }

        if (property is OpenApiSchema { Type: { } type } concrete && type.HasFlag(JsonSchemaType.Null))
        {
            var copy = (OpenApiSchema)concrete.CreateShallowCopy();
            copy.Type = type & ~JsonSchemaType.Null;
            return copy;
        }

        return property;
    }

    /// <summary><paramref name="names"/> become required and non-null in <paramref name="schema"/>.</summary>
    public static void Require(OpenApiSchema schema, params IEnumerable<string> names)
    {
        schema.Required ??= new HashSet<string>();
        foreach (var name in names)
        {
            if (schema.Properties?.TryGetValue(name, out var property) == true)
            {
                schema.Properties[name] = NotNull(property);
                schema.Required.Add(name);
            }
        }
    }
}
