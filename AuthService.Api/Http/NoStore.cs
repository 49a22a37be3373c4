namespace AuthService.Api.Http;

/// <summary>Every answer under <c>/v1</c> carries <c>Cache-Control: no-store</c> (ASVS 5.0 14.3.2, RFC 9111 §5.2.2.5): several
/// carry a secret shown once (a TOTP secret, backup codes, a bypass code, an API key, a webhook secret, a device token), and
/// none is worth keeping in a proxy's or a browser's cache. Set as the answer starts, so an answer the exception handler
/// rewrote (it clears the headers) carries it too.</summary>
public static class NoStore
{
    public static IApplicationBuilder UseNoStore(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.Request.Path.StartsWithSegments("/v1"))
        {
            context.Response.OnStarting(static state =>
            {
                ((HttpResponse)state).Headers.CacheControl = "no-store";
                return Task.CompletedTask;
            }, context.Response);
        }

        return next(context);
    });
}
