using System.Security.Claims;

namespace AuthService.Api.Security;

/// <summary>Callers present <c>Authorization: Bearer &lt;api key&gt;</c>; the key's scopes become claims
/// (<c>ApiKeys/ApiKeyAuthenticationHandler</c>). The scheme's names and the caller's key id, for every route table.</summary>
public static class ApiKeyAuthentication
{
    public const string SchemeName = "ApiKey";
    public const string ScopeClaim = "scope";

    /// <summary>The verify profile the key sends under (DESIGN §9.5).</summary>
    public const string ProfileClaim = "profile";

    /// <summary>Policy names: one per scope, plus <see cref="ReadPolicy"/> for status reads.</summary>
    public const string ReadPolicy = "read";

    /// <summary>The id of the API key that made the request (for the audit trail).</summary>
    public static Guid? ApiKeyId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null;
}
