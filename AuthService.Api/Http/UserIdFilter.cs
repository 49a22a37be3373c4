using AuthService.Core;

namespace AuthService.Api.Http;

/// <summary>Rejects a malformed <c>{userId}</c> before any handler or storage sees it.</summary>
public sealed class UserIdFilter : IEndpointFilter
{
    /// <summary>The one instance every route uses: stateless, and <c>AddEndpointFilter&lt;T&gt;</c> would build one per request.</summary>
    public static readonly UserIdFilter Instance = new();

    private UserIdFilter()
    {
    }

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        UserIds.IsValid(context.HttpContext.GetRouteValue("userId") as string)
            ? next(context)
            : ValueTask.FromResult<object?>(Problems.InvalidUserId.ToResult());
}
