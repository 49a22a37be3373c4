using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.Hosting;

/// <summary>What the service always sends is <c>required</c> (DESIGN §9.6), so a typed client reads <c>secret</c> as a
/// <c>string</c>, not <c>string | undefined</c>, and <c>lastUsedAt</c> as <c>string | null</c>, not <c>string | null | undefined</c>.
/// The service's JSON options ignore no member by default (<c>DefaultIgnoreCondition</c> is <c>Never</c>; read here, not
/// assumed): every member of a response type is written, null or not, unless the member itself says
/// <c>JsonIgnore(WhenWritingNull)</c> (then it is left out when null, e.g. <c>VerifyResponse.driftSteps</c>). So every
/// member without a <c>JsonIgnore</c> is listed; a nullable one stays <c>nullable</c>. The contract check then refuses an answer that lacks one. Request types (<c>*Request</c>, <c>Proof</c>) are
/// left to <see cref="RequestSchemasFilter"/>; the browser-written WebAuthn types have no guaranteed members.</summary>
public sealed class RequiredResponseMembersSchemaFilter(IOptions<JsonOptions> json) : ISchemaFilter
{
    private static readonly NullabilityInfoContext Nullability = new();

    /// <summary>What the service's JSON options leave out where a member says nothing itself (<c>Never</c> today).</summary>
    private readonly JsonIgnoreCondition _default = json.Value.SerializerOptions.DefaultIgnoreCondition;

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
            if (properties.ContainsKey(name) && AlwaysWritten(property))
            {
                concrete.Required ??= new HashSet<string>();
                concrete.Required.Add(name);
            }
        }
    }

    /// <summary>True when System.Text.Json writes the member whatever its value: nothing ignores it, or it is ignored only when
    /// null and can never be null (a non-nullable value type, or a reference C# says is never null).</summary>
    private bool AlwaysWritten(PropertyInfo property) =>
        (property.GetCustomAttribute<JsonIgnoreAttribute>()?.Condition ?? _default) switch
        {
            JsonIgnoreCondition.Never => true,
            JsonIgnoreCondition.WhenWritingNull => property.PropertyType.IsValueType
                ? Nullable.GetUnderlyingType(property.PropertyType) is null
                : Nullability.Create(property).ReadState == NullabilityState.NotNull,
            _ => false,
        };
}
