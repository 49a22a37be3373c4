using System.Security.Claims;
using System.Text.Encodings.Web;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AuthService.Api.ApiKeys;

public static class ApiKeyAuthenticationRegistration
{
    /// <summary>The <see cref="ApiKeyAuthentication.SchemeName"/> scheme and one policy per scope, plus
    /// <see cref="ApiKeyAuthentication.ReadPolicy"/> for status reads.</summary>
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Scopes.Verify, p => p.RequireClaim(ApiKeyAuthentication.ScopeClaim, Scopes.Verify, Scopes.Admin))
            .AddPolicy(Scopes.Manage, p => p.RequireClaim(ApiKeyAuthentication.ScopeClaim, Scopes.Manage, Scopes.Admin))
            .AddPolicy(Scopes.Admin, p => p.RequireClaim(ApiKeyAuthentication.ScopeClaim, Scopes.Admin))
            .AddPolicy(ApiKeyAuthentication.ReadPolicy, p => p.RequireClaim(ApiKeyAuthentication.ScopeClaim, Scopes.Verify, Scopes.Manage, Scopes.Admin));
        return services;
    }
}

/// <summary>Authenticates a request by its bearer API key (looked up through <see cref="ApiKeyService"/>'s cache).</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyService keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) || header.Length > 512)
        {
            return AuthenticateResult.Fail("Not a bearer API key.");
        }

        var key = header[bearer.Length..].Trim();
        var row = key.Length == 0 ? null : await keys.GetActiveByKeyAsync(key, Context.RequestAborted);
        if (row is null)
        {
            return AuthenticateResult.Fail("Unknown or revoked API key.");
        }

        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, row.Id.ToString()), new(ClaimTypes.Name, row.Name) };
        claims.AddRange(row.Scopes.Select(s => new Claim(ApiKeyAuthentication.ScopeClaim, s)));
        claims.Add(new Claim(ApiKeyAuthentication.ProfileClaim, row.Profile));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthentication.SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, ApiKeyAuthentication.SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblem(401, ProblemCodes.Unauthorized, "A valid API key is required.",
            "Send Authorization: Bearer <api key> with an active key.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblem(403, ProblemCodes.Forbidden, "The API key lacks the scope for this operation.",
            "This operation needs a key with another scope.");

    private Task WriteProblem(int status, string code, string title, string detail) =>
        Problems.Result(status, code, title, detail).ExecuteAsync(Context);
}
