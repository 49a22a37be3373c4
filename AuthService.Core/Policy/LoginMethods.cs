namespace AuthService.Core.Policy;

/// <summary>The first-factor methods a login decision may name (<c>loginMethod</c>).</summary>
public static class LoginMethods
{
    public static readonly IReadOnlyList<string> All = ["password", "oauth", "sso", "saml", "api_key"];

    public static bool IsKnown(string? method) => method is not null && All.Contains(method);
}
