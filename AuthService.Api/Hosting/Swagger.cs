using Microsoft.OpenApi;

namespace AuthService.Api.Hosting;

/// <summary>The OpenAPI document and Swagger UI (<c>Docs:Enabled</c>, default on: operators read them everywhere).</summary>
public static class Swagger
{
    public const string DocumentUrl = "/swagger/v1/swagger.json";
    public const string YamlUrl = "/swagger/v1/swagger.yaml";

    public static IServiceCollection AddApiDocs(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "AuthService",
                Version = "v1",
                Description = "Second-factor authentication (TOTP, SMS/voice codes, passkeys, backup codes) for portals that do the first factor themselves. " +
                              "Authenticate with `Authorization: Bearer <api key>`. Every error is `application/problem+json` with a stable `code` (`ProblemDetails.code`). " +
                              "Only requests the HTTP server refuses before the application (a path that decodes to NUL, a request line over 8 KB, " +
                              "headers over 32 KB) get a bare 400/414/431 with an empty body (docs/OPERATIONS.md). " +
                              "Two browser pages are not operations and are left out: this document's UI at `/swagger` (`Docs:Enabled`), " +
                              "and the support console at `/console`, served only with `Console:Enabled=true`.",
                License = new OpenApiLicense { Name = "Proprietary", Url = new Uri("https://authservice.dev/license") },
            });
            options.AddServer(new OpenApiServer { Url = "/", Description = "This instance" });
            // Stable operation ids from the handler names (TwoFactor_Verify, ApiKeys_Create, …) for generated clients.
            options.CustomOperationIds(api =>
                api.ActionDescriptor.EndpointMetadata.OfType<System.Reflection.MethodInfo>().FirstOrDefault() is { } handler
                    ? $"{handler.DeclaringType?.Name.Replace("Api", "", StringComparison.Ordinal)}_{handler.Name}"
                    : null);
            options.DocumentFilter<TagDescriptionsFilter>();
            options.AddSecurityDefinition("bearer", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An AuthService API key (scopes: verify, manage, admin).",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference("bearer", document)] = [],
            });
            options.SupportNonNullableReferenceTypes();
            options.OperationFilter<ProblemCodesOperationFilter>();
            options.SchemaFilter<ExamplesSchemaFilter>();
            options.SchemaFilter<NullableReferencesSchemaFilter>();
            options.SchemaFilter<RequiredResponseMembersSchemaFilter>();
            options.DocumentFilter<ContractDocumentFilter>();
            options.DocumentFilter<RequestSchemasFilter>();
        });
        return services;
    }

    private sealed class TagDescriptionsFilter : Swashbuckle.AspNetCore.SwaggerGen.IDocumentFilter
    {
        public void Apply(OpenApiDocument document, Swashbuckle.AspNetCore.SwaggerGen.DocumentFilterContext context) =>
            document.Tags = new HashSet<OpenApiTag>
            {
                new() { Name = "Two-factor", Description = "Enrollment, login challenges, verification, method switch and backup codes of one user." },
                new() { Name = "Login policy", Description = "What the portal should do after the first factor, and the skippable enrollment prompt." },
                new() { Name = "Support", Description = "Support reset (the only way to remove the last factor, i.e. disable 2FA) and the user's audit trail. Admin scope." },
                new() { Name = "API keys", Description = "Caller keys with scopes verify, manage, admin. Admin scope." },
                new() { Name = "Operations", Description = "Health probes and Prometheus metrics for operators; no API key." },
            };
    }

    public static WebApplication UseApiDocs(this WebApplication app)
    {
        if (app.Configuration.GetValue("Docs:Enabled", true))
        {
            // Only requests under /swagger pass through the two middlewares (each an async state machine per request).
            app.UseWhen(context => context.Request.Path.StartsWithSegments("/swagger"), docs =>
            {
                docs.UseSwagger();
                docs.UseSwaggerUI(o =>
                {
                    o.SwaggerEndpoint(DocumentUrl, "AuthService v1");
                    o.DocumentTitle = "AuthService API";
                });
            });
        }

        return app;
    }
}
