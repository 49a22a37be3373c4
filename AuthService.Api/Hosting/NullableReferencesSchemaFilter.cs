using System.Reflection;
using System.Text.Json;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.Hosting;

/// <summary>A nullable property whose type is another schema (<c>StatusResponse.pending</c>, <c>proof</c>) is written as a
/// bare <c>$ref</c>, and OpenAPI 3.0 ignores anything beside a <c>$ref</c>, so the document claimed it is never null.
/// This wraps exactly those properties as <c>allOf: [$ref]</c> + <c>nullable: true</c>; non-nullable references stay bare.</summary>
public sealed class NullableReferencesSchemaFilter : ISchemaFilter
{
    private static readonly NullabilityInfoContext Nullability = new();

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema { Properties: { Count: > 0 } properties })
        {
            return;
        }

        foreach (var property in context.Type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (properties.TryGetValue(name, out var declared) && declared is OpenApiSchemaReference reference &&
                Nullability.Create(property).ReadState == NullabilityState.Nullable)
            {
                properties[name] = new OpenApiSchema { AllOf = [reference], Type = JsonSchemaType.Object | JsonSchemaType.Null };
            }
        }
    }
}
