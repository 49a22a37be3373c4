namespace AuthService.Core;

/// <summary>The caller's opaque user id: 1–128 characters of <c>[A-Za-z0-9._:@-]</c>, except <c>.</c> and <c>..</c>: as a
/// path segment (<c>/v1/users/{userId}/…</c>) those are dot segments, which every HTTP client and Kestrel remove before routing
/// (RFC 3986 §5.2.4), so no route could ever reach such a user; refusing them everywhere keeps the login decision from
/// prompting an enrollment that cannot start.</summary>
public static class UserIds
{
    public const int MaxLength = 128;

    /// <summary>The same rule as a regular expression, for the published contract.</summary>
    public const string Pattern = "^(?!\\.\\.?$)[A-Za-z0-9._:@-]{1,128}$";

    public static bool IsValid(string? userId)
    {
        if (string.IsNullOrEmpty(userId) || userId.Length > MaxLength || userId is "." or "..")
        {
            return false;
        }

        foreach (var c in userId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '@' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
