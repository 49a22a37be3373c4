namespace AuthService.Core.Policy;

/// <summary>The first-factor methods a login decision may name (<c>loginMethod</c>), and which of them the second factor
/// never blocks (DESIGN §1: SSO/SAML logins need no 2FA, API-key requests are never blocked).</summary>
public static class LoginMethods
{
    public const string Password = "password";
    public const string OAuth = "oauth";
    public const string Sso = "sso";
    public const string Saml = "saml";
    public const string ApiKey = "api_key";

    public static readonly IReadOnlyList<string> All = [Password, OAuth, Sso, Saml, ApiKey];

    public static bool IsKnown(string? method) => method is not null && All.Contains(method);

    /// <summary>Decided without reading the user: these logins are never blocked by the second factor.</summary>
    public static bool NeverBlocked(string? method) => method is ApiKey or Sso or Saml;
}
