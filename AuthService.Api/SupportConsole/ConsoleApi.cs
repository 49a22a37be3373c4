using System.Collections.Frozen;

namespace AuthService.Api.SupportConsole;

/// <summary>The support console (DESIGN §9.4) at <c>/console</c>: three static files embedded in this assembly
/// (<c>SupportConsole/Assets</c>), served only when <c>Console:Enabled=true</c> (otherwise the routes do not exist: 404). It is a
/// client of the public <c>/v1</c> API and nothing else: the admin key is typed in, kept in <c>sessionStorage</c> and sent as
/// the Bearer header, so it is never in a URL or a log. No third-party code; a strict Content-Security-Policy (no inline script
/// or style, <c>frame-ancestors 'none'</c>).</summary>
public static class ConsoleApi
{
    public const string EnabledSetting = "Console:Enabled";

    /// <summary>Same-origin everything, nothing inline, never framed, no plug-ins, forms post nowhere.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, (string ContentType, byte[] Body)> Assets = Load();

    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder routes, IConfiguration configuration)
    {
        if (!configuration.GetValue(EnabledSetting, false))
        {
            return routes;
        }

        routes.MapGet("/console", (HttpContext context) => Serve(context, "index.html")).ExcludeFromDescription().AllowAnonymous();
        routes.MapGet("/console/{file}", (HttpContext context, string file) => Serve(context, file)).ExcludeFromDescription().AllowAnonymous();
        return routes;
    }

    private static IResult Serve(HttpContext context, string file)
    {
        if (!Assets.TryGetValue(file, out var asset))
        {
            return Results.NotFound();
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        return Results.Bytes(asset.Body, asset.ContentType);
    }

    /// <summary>The embedded assets by file name (<c>LogicalName</c> <c>console/{file}</c> in the project file).</summary>
    private static FrozenDictionary<string, (string, byte[])> Load()
    {
        var assembly = typeof(ConsoleApi).Assembly;
        var types = new Dictionary<string, string>
        {
            [".html"] = "text/html; charset=utf-8", [".css"] = "text/css; charset=utf-8", [".js"] = "text/javascript; charset=utf-8",
        };
        var assets = new Dictionary<string, (string, byte[])>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("console/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name["console/".Length..];
            assets[file] = (types[Path.GetExtension(file)], copy.ToArray());
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
