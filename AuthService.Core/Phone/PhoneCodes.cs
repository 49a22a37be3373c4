using System.Security.Cryptography;

namespace AuthService.Core.Phone;

/// <summary>One-time codes sent by SMS or voice: 6 digits from the CSPRNG (NIST SP 800-63B §5.1.3.2).</summary>
public static class PhoneCodes
{
    public const int Digits = 6;
    public const int MaxAttemptsPerCode = 5;

    /// <summary>How long a sent code works; the SMS text says it (<see cref="CodeMessages.Sms"/>).</summary>
    public static readonly TimeSpan Validity = TimeSpan.FromMinutes(ValidityMinutes);

    public const int ValidityMinutes = 10;

    /// <summary>The code that confirms a pending enrollment or switch to a phone. The codes sent by <c>/challenge</c> are kept
    /// under their <see cref="Factors.ChallengePurposes"/> (<c>login</c>, <c>proof</c>).</summary>
    public const string PendingPurpose = "pending";

    public static string Generate() => RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6");

    /// <summary>The digits of what the user typed (spaces ignored), or null when it cannot be a code.</summary>
    public static string? Normalize(string? input)
    {
        if (input is null || input.Length > 32)
        {
            return null;
        }

        var digits = input.Replace(" ", "", StringComparison.Ordinal);
        return digits.Length == Digits && digits.All(char.IsAsciiDigit) ? digits : null;
    }
}
