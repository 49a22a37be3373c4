namespace AuthService.Core.Text;

/// <summary>The one rule for short free text the service stores, shows or logs (labels, names, descriptions, tickets, a code as
/// typed): not null, at most a given number of characters, and no control characters (Unicode category Cc: NUL, line breaks,
/// escapes, DEL…), which could forge log lines or hide text. Letters, marks and symbols of every script are printable.
/// Whether an empty or blank value is acceptable is the caller's rule, not this one.</summary>
public static class PrintableText
{
    /// <summary>The usual cap: a factor or passkey label, the relying party's name, a code or backup code as typed.</summary>
    public const int MaxLength = 64;

    /// <summary>True when <paramref name="value"/> is not null, has at most <paramref name="maxLength"/> characters (UTF-16 code
    /// units) and no control character, except line feeds and tabs when <paramref name="allowNewlines"/>.</summary>
    public static bool IsValid(string? value, int maxLength = MaxLength, bool allowNewlines = false)
    {
        if (value is null || value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (char.IsControl(c) && !(allowNewlines && c is '\n' or '\t'))
            {
                return false;
            }
        }

        return true;
    }
}
