using Microsoft.Net.Http.Headers;
using Microsoft.AspNetCore.Http.Metadata;

namespace AuthService.Api.Http;

/// <summary>Request bodies are UTF-8 JSON (RFC 8259 §8.1; <c>application/json</c> defines no <c>charset</c>). ASP.NET Core looks a
/// declared charset up with <c>Encoding.GetEncoding</c> and throws an <see cref="InvalidOperationException"/> for one it does
/// not know, including a quoted <c>"utf-8"</c>, whose quotes it keeps (dotnet/aspnetcore#61514): that surfaced as a 500 on
/// every route with a body. Here a charset of UTF-8, quoted or not, passes (unquoted for the framework), and any other is
/// refused with 415 <c>unsupported_media_type</c> before a route runs (after authentication and authorization, as the
/// framework's own 415 for a wrong media type). A route that reads a JSON body also takes only <c>application/json</c>: the
/// framework let any <c>application/*+json</c> through (<c>application/problem+json</c> sent a code).</summary>
public static class JsonCharset
{
    public static readonly Problem NotUtf8 = new(415, ProblemCodes.UnsupportedMediaType, ErrorHandling.UnsupportedMediaTypeTitle,
        "The request body must be application/json in UTF-8; send no charset, or charset=utf-8.");

    public static readonly Problem NotJson = new(415, ProblemCodes.UnsupportedMediaType, ErrorHandling.UnsupportedMediaTypeTitle,
        ErrorHandling.JsonOnly);

    public static IApplicationBuilder UseJsonCharset(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var contentType = context.Request.ContentType;
        // What most clients send (HttpClient's JsonContent, curl's -H 'Content-Type: application/json') passes without parsing:
        // this runs on every request. Only the whole value, so that a second charset parameter (the framework reads the first)
        // is still parsed.
        if (context.GetEndpoint() is not { } endpoint || contentType is null
            || contentType.Equals("application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase)
            || contentType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || !MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return next(context);
        }

        if (endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not null
            && !parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return NotJson.ToResult().ExecuteAsync(context);
        }

        if (!parsed.Charset.HasValue)
        {
            return next(context);
        }

        var charset = HeaderUtilities.RemoveQuotes(parsed.Charset);
        if (!charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return NotUtf8.ToResult().ExecuteAsync(context);
        }

        if (!parsed.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            parsed.Charset = "utf-8";
            context.Request.ContentType = parsed.ToString();
        }

        return next(context);
    });
}
