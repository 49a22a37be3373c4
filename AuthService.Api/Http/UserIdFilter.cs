using AuthService.Core;

namespace AuthService.Api.Http;

/// <summary>Rejects a malformed <c>{userId}</c> before any handler or storage sees it.</summary>
public sealed class UserIdFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        UserIds.IsValid(context.HttpContext.GetRouteValue("userId") as string)
            ? next(context)
            : ValueTask.FromResult<object?>(Problems.InvalidUserId.ToResult());
}
