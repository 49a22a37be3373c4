using Microsoft.AspNetCore.Http.HttpResults;

namespace AuthService.Api.Http;

/// <summary>Every 429/503 problem that says when to come back also says it in the <c>Retry-After</c> header.</summary>
public sealed class RetryAfterHeaderFilter : IEndpointFilter
{
    /// <summary>The one instance every route uses: stateless, and <c>AddEndpointFilter&lt;T&gt;</c> would build one per request.</summary>
    public static readonly RetryAfterHeaderFilter Instance = new();

    private RetryAfterHeaderFilter()
    {
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context);
        var inner = result is INestedHttpResult nested ? nested.Result : result;
        if (inner is ProblemHttpResult problem && problem.ProblemDetails.Extensions.TryGetValue("retryAfter", out var seconds) && seconds is int s)
        {
            context.HttpContext.Response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return result;
    }
}
