namespace AuthService.Core.Factors;

/// <summary>The label a factor carries when its user gave none (DESIGN §9.2), and the rule for a label given.</summary>
public static class FactorLabels
{
    public const int MaxLength = Text.PrintableText.MaxLength;

    public static string Default(string method, string? maskedPhone = null) => method switch
    {
        FactorMethods.Totp => "Authenticator app",
        FactorMethods.Phone => maskedPhone is null ? "Phone" : $"Phone {maskedPhone}",
        FactorMethods.Passkey => "Passkey",
        _ => method,
    };

    /// <summary>Null when <paramref name="label"/> may be stored (at most 64 printable characters, <see cref="Text.PrintableText"/>,
    /// at least one of which shows), else why not.</summary>
    public static string? Problem(string? label) =>
        label is null ? null
        : !Text.PrintableText.HasVisible(label) || !Text.PrintableText.IsValid(label)
            ? $"label must be 1 to {MaxLength} printable characters."
            : null;

    /// <summary>The label as stored and shown: without the white space around it (every route that takes a label stores it so,
    /// after <see cref="Problem"/> accepted it).</summary>
    public static string? Normalize(string? label) => label?.Trim();
}
