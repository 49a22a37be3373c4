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
                Description = "Second-factor authentication (TOTP, SMS/voice codes, backup codes) for portals that do the first factor themselves. " +
                              "Authenticate with `Authorization: Bearer <api key>`. Every error is `application/problem+json` with a stable `code`.",
            });
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
        });
        return services;
    }

    public static WebApplication UseApiDocs(this WebApplication app)
    {
        if (app.Configuration.GetValue("Docs:Enabled", true))
        {
            app.UseSwagger();
            app.UseSwaggerUI(o =>
            {
                o.SwaggerEndpoint(DocumentUrl, "AuthService v1");
                o.DocumentTitle = "AuthService API";
            });
        }

        return app;
    }
}
