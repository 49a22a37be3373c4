using System.Security.Cryptography;

namespace AuthService.Core.Phone;

/// <summary>One-time codes sent by SMS or voice: 6 digits from the CSPRNG (NIST SP 800-63B §5.1.3.2).</summary>
public static class PhoneCodes
{
    public const int Digits = 6;

    /// <summary>The lengths a verify profile may choose (DESIGN §9.5); <see cref="Digits"/> is the default.</summary>
    public const int MinDigits = 6;

    public const int MaxDigits = 8;
    public const int MaxAttemptsPerCode = 5;

    /// <summary>How long a sent code works; the SMS text says it (<see cref="CodeMessages.Sms"/>).</summary>
    public static readonly TimeSpan Validity = TimeSpan.FromMinutes(ValidityMinutes);

    public const int ValidityMinutes = 10;

    /// <summary>The code that confirms a pending enrollment or switch to a phone. The codes sent by <c>/challenge</c> are kept
    /// under their <see cref="Factors.ChallengePurposes"/> (<c>login</c>, <c>proof</c>).</summary>
    public const string PendingPurpose = "pending";

    public static string Generate() => Generate(Digits);

    /// <summary>A code of <paramref name="length"/> digits (6–8), uniform over all of them.</summary>
    public static string Generate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, MinDigits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxDigits);
        var bound = (int)Math.Pow(10, length);
        return RandomNumberGenerator.GetInt32(0, bound).ToString("D" + length, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The digits of what the user typed (spaces ignored), or null when it cannot be a code.</summary>
    public static string? Normalize(string? input)
    {
        if (input is null || input.Length > 32)
        {
            return null;
        }

        var digits = input.Replace(" ", "", StringComparison.Ordinal);
        return digits.Length is >= MinDigits and <= MaxDigits && digits.All(char.IsAsciiDigit) ? digits : null;
    }
}
