using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.Hosting;

/// <summary>What the service always sends is <c>required</c> (DESIGN §9.6), so a typed client reads <c>secret</c> as a
/// <c>string</c>, not <c>string | undefined</c>: every member of a response type that C# says is never null and that is
/// never left out (<c>JsonIgnore(WhenWritingNull)</c>) is listed, and the contract check then refuses an answer that
/// lacks one. Request types (<c>*Request</c>, <c>Proof</c>) are left to <see cref="RequestSchemasFilter"/>; the
/// browser-written WebAuthn types have no guaranteed members.</summary>
public sealed class RequiredResponseMembersSchemaFilter : ISchemaFilter
{
    private static readonly NullabilityInfoContext Nullability = new();

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        var type = context.Type;
        if (schema is not OpenApiSchema { Properties: { Count: > 0 } properties } concrete || type.Name.EndsWith("Request", StringComparison.Ordinal) ||
            type == typeof(TwoFactor.Proof) || StrictJson.BrowserWritten.Contains(type) || type.Namespace?.StartsWith("AuthService", StringComparison.Ordinal) != true)
        {
            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (properties.ContainsKey(name) && property.GetCustomAttribute<JsonIgnoreAttribute>() is null &&
                Nullability.Create(property).ReadState == NullabilityState.NotNull)
            {
                concrete.Required ??= new HashSet<string>();
                concrete.Required.Add(name);
            }
        }
    }
}
