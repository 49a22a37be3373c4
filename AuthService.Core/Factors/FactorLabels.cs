namespace AuthService.Core.Factors;

/// <summary>The label a factor carries when its user gave none (DESIGN §9.2), and the rule for a label given.</summary>
public static class FactorLabels
{
    public const int MaxLength = 64;

    public static string Default(string method, string? maskedPhone = null) => method switch
    {
        FactorMethods.Totp => "Authenticator app",
        FactorMethods.Phone => maskedPhone is null ? "Phone" : $"Phone {maskedPhone}",
        FactorMethods.Passkey => "Passkey",
        _ => method,
    };

    /// <summary>Null when <paramref name="label"/> may be stored (at most 64 characters, not blank, no control characters),
    /// else why not.</summary>
    public static string? Problem(string? label) =>
        label is null ? null
        : string.IsNullOrWhiteSpace(label) || label.Length > MaxLength || label.Any(char.IsControl)
            ? $"label must be 1 to {MaxLength} printable characters."
            : null;
}
