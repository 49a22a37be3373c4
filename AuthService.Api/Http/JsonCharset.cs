using Microsoft.Net.Http.Headers;

namespace AuthService.Api.Http;

/// <summary>Request bodies are UTF-8 JSON (RFC 8259 §8.1; <c>application/json</c> defines no <c>charset</c>). ASP.NET Core looks a
/// declared charset up with <c>Encoding.GetEncoding</c> and throws an <see cref="InvalidOperationException"/> for one it does
/// not know, including a quoted <c>"utf-8"</c>, whose quotes it keeps (dotnet/aspnetcore#61514): that surfaced as a 500 on
/// every route with a body. Here a charset of UTF-8, quoted or not, passes (unquoted for the framework), and any other is
/// refused with 415 <c>unsupported_media_type</c> before a route runs (after authentication and authorization, as the
/// framework's own 415 for a wrong media type).</summary>
public static class JsonCharset
{
    public static readonly Problem NotUtf8 = new(415, ProblemCodes.UnsupportedMediaType, "Unsupported media type.",
        "The request body must be application/json in UTF-8; send no charset, or charset=utf-8.");

    public static IApplicationBuilder UseJsonCharset(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var contentType = context.Request.ContentType;
        // What most clients send (HttpClient's JsonContent) passes without parsing: this runs on every request. Only the whole
        // value, so that a second charset parameter (the framework reads the first) is still parsed.
        if (context.GetEndpoint() is null || contentType is null || !contentType.Contains("charset", StringComparison.OrdinalIgnoreCase)
            || contentType.Equals("application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase)
            || !MediaTypeHeaderValue.TryParse(contentType, out var parsed) || !parsed.Charset.HasValue)
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
