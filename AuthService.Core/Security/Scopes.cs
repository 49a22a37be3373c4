namespace AuthService.Core.Security;

/// <summary>What an API key may do. <see cref="Admin"/> implies every other scope.</summary>
public static class Scopes
{
    public const string Verify = "verify";
    public const string Manage = "manage";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Verify, Manage, Admin];

    public static bool IsKnown(string scope) => All.Contains(scope);
}
