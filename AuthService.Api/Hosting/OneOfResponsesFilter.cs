using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.Hosting;

/// <summary>A handler that answers one status with several bodies (enroll's 201: TOTP secret or passkey options)
/// would otherwise be documented with only one of them: this writes a <c>oneOf</c> of all.</summary>
public sealed class OneOfResponsesFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        // The API explorer keeps one type per status; the endpoint metadata (from Results<…>) keeps them all.
        var byStatus = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Http.Metadata.IProducesResponseTypeMetadata>()
            .Where(r => r.Type is not null && r.Type != typeof(void) && r.StatusCode < 400)
            .GroupBy(r => r.StatusCode)
            .Where(g => g.Select(r => r.Type).Distinct().Count() > 1);
        foreach (var group in byStatus)
        {
            if (operation.Responses?.TryGetValue(group.Key.ToString(), out var response) != true ||
                response is not OpenApiResponse { Content: { } content } ||
                !content.TryGetValue("application/json", out var media) || media is not OpenApiMediaType json)
            {
                continue;
            }

            json.Schema = new OpenApiSchema
            {
                OneOf = group.Select(r => r.Type!).Distinct()
                    .Select(type => context.SchemaGenerator.GenerateSchema(type, context.SchemaRepository)).ToList(),
            };
        }
    }
}
