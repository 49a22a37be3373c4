using System.Security.Cryptography;
using AuthService.Core.Security;

namespace AuthService.Core.BypassCodes;

/// <summary>Support bypass codes (DESIGN §9.4): 9 digits from the CSPRNG, shown once as <c>123-456-789</c>, stored only as a
/// keyed hash bound to the user and the code's id. The bounds of a request and of what a user may hold are decided here.</summary>
public static class BypassCodeRules
{
    /// <summary>The method name a bypass code is audited and answered under (<c>verify</c>'s <c>method</c>).</summary>
    public const string Method = "bypass_code";

    /// <summary>Purpose of the keyed hash of a bypass code (<see cref="SecretBox.Mac(string, string, string)"/>).</summary>
    public const string HashPurpose = "bypass-code";

    public const int Digits = 9;
    public const int MinUses = 1;
    public const int MaxUses = 10;
    public const int DefaultUses = 1;
    public const int MinValidMinutes = 5;
    public const int MaxValidMinutes = 3 * 24 * 60;
    public const int DefaultValidMinutes = 60;

    /// <summary>Live codes (uses left, not expired) a user may hold at once.</summary>
    public const int MaxLivePerUser = 100;

    /// <summary>A fresh code from the CSPRNG, formatted for display.</summary>
    public static string Generate()
    {
        var raw = RandomNumberGenerator.GetString("0123456789", Digits);
        return $"{raw[..3]}-{raw[3..6]}-{raw[6..]}";
    }

    /// <summary>The 9 digits of <paramref name="input"/>, hyphens and spaces ignored; null when it cannot be a code.</summary>
    public static string? Normalize(string? input)
    {
        if (input is null || input.Length > 32)
        {
            return null;
        }

        var digits = new string(input.Where(c => c is not ('-' or ' ')).ToArray());
        return digits.Length == Digits && digits.All(char.IsAsciiDigit) ? digits : null;
    }

    /// <summary>Null when the request's bounds hold, otherwise what is wrong.</summary>
    public static string? InvalidRequest(int uses, int validMinutes) =>
        uses is < MinUses or > MaxUses ? $"uses must be {MinUses}–{MaxUses}."
        : validMinutes is < MinValidMinutes or > MaxValidMinutes ? $"validMinutes must be {MinValidMinutes}–{MaxValidMinutes}."
        : null;

    /// <summary>Keyed hash of a (normalized) code, bound to its user and id: a dump without the key reveals nothing, and a hash
    /// copied to another user's row does not match.</summary>
    public static byte[] Hash(SecretBox secrets, string keyId, string userId, Guid codeId, string normalizedCode) =>
        secrets.Mac(keyId, HashPurpose, $"{userId}|{codeId:N}|{normalizedCode}");
}
