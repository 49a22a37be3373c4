using System.Security.Claims;
using System.Runtime.CompilerServices;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Api.Storage;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace AuthService.Api.ApiKeys;

public static class ApiKeyAuthenticationRegistration
{
    /// <summary>The <see cref="ApiKeyAuthentication.SchemeName"/> scheme and one policy per scope, plus
    /// <see cref="ApiKeyAuthentication.ReadPolicy"/> for status reads.</summary>
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication(o =>
        {
            o.AddScheme<ApiKeyAuthenticationHandler>(ApiKeyAuthentication.SchemeName, null);
            o.DefaultScheme = ApiKeyAuthentication.SchemeName;
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(Scopes.Verify, p => p.RequireClaim(ApiKeyAuthentication.ScopeClaim, Scopes.Verify, Scopes.Admin))
            .AddPolicy(Scopes.Manage, p => p.RequireClaim(ApiKeyAuthentication.ScopeClaim, Scopes.Manage, Scopes.Admin))
            .AddPolicy(Scopes.Admin, p => p.RequireClaim(ApiKeyAuthentication.ScopeClaim, Scopes.Admin))
            .AddPolicy(ApiKeyAuthentication.ReadPolicy, p => p.RequireClaim(ApiKeyAuthentication.ScopeClaim, Scopes.Verify, Scopes.Manage, Scopes.Admin));
        return services.WithSingletonAuthorization();
    }

    /// <summary>The authorization services ASP.NET Core resolves for every request, registered as transients.</summary>
    internal static readonly Type[] PerRequestAuthorizationServices =
    [
        typeof(IPolicyEvaluator), typeof(IAuthorizationService), typeof(IAuthorizationPolicyProvider), typeof(IAuthorizationHandlerProvider),
        typeof(IAuthorizationHandler), typeof(IAuthorizationEvaluator), typeof(IAuthorizationHandlerContextFactory),
    ];

    /// <summary>Registers the framework's own implementations of <see cref="PerRequestAuthorizationServices"/> as singletons.
    /// As transients, the authorization middleware built the graph (policy evaluator, authorization service, handler provider
    /// and its handler list, evaluator, context factory) anew for every request (issue 27's allocation trace). None of them
    /// keeps state between calls; the only handler is the framework's pass-through for <c>RequireClaim</c>'s requirements. Only
    /// the framework's types are changed: a handler of the service's own would keep the lifetime it was registered with.</summary>
    private static IServiceCollection WithSingletonAuthorization(this IServiceCollection services)
    {
        for (var i = 0; i < services.Count; i++)
        {
            var registered = services[i];
            if (registered is { Lifetime: ServiceLifetime.Transient, ImplementationType: { } type } &&
                PerRequestAuthorizationServices.Contains(registered.ServiceType) &&
                type.Namespace?.StartsWith("Microsoft.AspNetCore.Authorization", StringComparison.Ordinal) == true)
            {
                services[i] = ServiceDescriptor.Singleton(registered.ServiceType, type);
            }
        }

        return services;
    }
}

/// <summary>Authenticates a request by its bearer API key (looked up through <see cref="ApiKeyService"/>'s cache).
/// An <see cref="IAuthenticationHandler"/> of its own rather than an <c>AuthenticationHandler&lt;T&gt;</c>: that base class
/// is created per request and asks the logger factory for a new logger each time (a Serilog logger and its caches), and
/// reads its options through the options monitor, on every request (issue 27's allocation trace). Nothing here needs either.</summary>
internal sealed class ApiKeyAuthenticationHandler(ApiKeyService keys, ILogger<ApiKeyAuthenticationHandler> logger) : IAuthenticationHandler
{
    /// <summary>One answer per cached key row: a row is immutable and replaced when the cache refreshes it, so its principal,
    /// ticket and result are built once, not on every request. So every request with that key shares them, the ticket's
    /// (empty) properties included: nothing in the service writes a principal, a ticket or its properties after
    /// authentication, and none may (the framework's authentication service wraps the answer in a ticket of its own, around
    /// the same principal and properties).</summary>
    private static readonly ConditionalWeakTable<ApiKeyRow, Task<AuthenticateResult>> Answers = new();

    private HttpContext _context = null!;
    private Task<AuthenticateResult>? _result;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        _context = context;
        return Task.CompletedTask;
    }

    public Task<AuthenticateResult> AuthenticateAsync() => _result ??= AuthenticateOnce();

    private Task<AuthenticateResult> AuthenticateOnce()
    {
        string? header = _context.Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) || !Authorizes(_context.GetEndpoint()))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) || header.Length > 512)
        {
            return Task.FromResult(Failed("Not a bearer API key."));
        }

        var key = header.AsSpan(bearer.Length).Trim();
        if (key.IsEmpty)
        {
            return Task.FromResult(Failed("Unknown or revoked API key."));
        }

        // A cached key is answered with its row's answer, nothing allocated; a miss reads the database.
        return keys.TryGetCached(key, out var row) ? AnswerFor(row) : LookupAsync(key.ToString());
    }

    /// <summary>Whether the route asks for a key. The health probes, the metrics scrape, the console's files, the Telnyx
    /// callback and unknown routes do not, so a key sent to them is not looked up: a probe that carries a bearer header (a
    /// proxy may add one) must not read the database, nor turn a database outage into a failed liveness probe.</summary>
    private static bool Authorizes(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<IAuthorizeData>() is not null && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null;

    private async Task<AuthenticateResult> LookupAsync(string key) =>
        await keys.GetActiveByKeyAsync(key, _context.RequestAborted) is { } row ? await AnswerFor(row) : Failed("Unknown or revoked API key.");

    private static Task<AuthenticateResult> AnswerFor(ApiKeyRow row) => Answers.GetValue(row,
        static row => Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(PrincipalOf(row), ApiKeyAuthentication.SchemeName))));

    /// <summary>A refused key, logged with its reason as the framework's handler did (never the key itself).</summary>
    private AuthenticateResult Failed(string reason)
    {
        logger.LogInformation("API key authentication failed: {Reason}", reason);
        return AuthenticateResult.Fail(reason);
    }

    private static ClaimsPrincipal PrincipalOf(ApiKeyRow row)
    {
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, row.Id.ToString()), new(ClaimTypes.Name, row.Name) };
        claims.AddRange(row.Scopes.Select(s => new Claim(ApiKeyAuthentication.ScopeClaim, s)));
        claims.Add(new Claim(ApiKeyAuthentication.ProfileClaim, row.Profile));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthentication.SchemeName));
    }

    public Task ChallengeAsync(AuthenticationProperties? properties)
    {
        _context.Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblem(401, ProblemCodes.Unauthorized, "A valid API key is required.",
            "Send Authorization: Bearer <api key> with an active key.");
    }

    public Task ForbidAsync(AuthenticationProperties? properties) =>
        WriteProblem(403, ProblemCodes.Forbidden, "The API key lacks the scope for this operation.",
            "This operation needs a key with another scope.");

    private Task WriteProblem(int status, string code, string title, string detail) =>
        Problems.Result(status, code, title, detail).ExecuteAsync(_context);
}
