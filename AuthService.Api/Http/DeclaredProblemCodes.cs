namespace AuthService.Api.Http;

/// <summary>Endpoint metadata: the problem <c>code</c> values a route can answer with one status.</summary>
public sealed record DeclaredProblemCodes(int Status, string[] Codes);

public static class ProblemCodesExtensions
{
    /// <summary>Declares a problem response and the stable <c>code</c> values it carries (shown in the OpenAPI document).</summary>
    public static TBuilder ProducesProblemCodes<TBuilder>(this TBuilder builder, int status, params string[] codes)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new DeclaredProblemCodes(status, codes));
        if (builder is RouteHandlerBuilder route)
        {
            route.ProducesProblem(status);
        }

        return builder;
    }
}
