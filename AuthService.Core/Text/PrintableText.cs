namespace AuthService.Core.Text;

/// <summary>The one rule for short free text the service stores, shows or logs (labels, names, descriptions, tickets, a code as
/// typed): not null, at most a given number of characters, and no control characters (Unicode category Cc: NUL, line breaks,
/// escapes, DEL…), which could forge log lines or hide text; nor the line and paragraph separators (U+2028, U+2029), which
/// break a line as well; nor the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which
/// reorder what a support agent reads (a label shown reversed, "Trojan Source"). Letters, marks and symbols of every script
/// are printable, and so are the joiners and marks those scripts and emoji need (U+200C, U+200D, U+200E, U+200F).
/// Whether an empty or blank value is acceptable is the caller's rule, not this one (<see cref="HasVisible"/>).</summary>
public static class PrintableText
{
    /// <summary>The usual cap: a factor or passkey label, the relying party's name, a code or backup code as typed.</summary>
    public const int MaxLength = 64;

    /// <summary>True when <paramref name="value"/> is not null, has at most <paramref name="maxLength"/> characters (Unicode
    /// code points, as JSON Schema's <c>maxLength</c> counts them: an emoji outside the BMP is one, not two UTF-16 units), no
    /// lone surrogate, and no control character, except line feeds and tabs when <paramref name="allowNewlines"/>.</summary>
    public static bool IsValid(string? value, int maxLength = MaxLength, bool allowNewlines = false)
    {
        if (value is null || value.Length > 2 * maxLength)
        {
            return false;
        }

        var characters = 0;
        for (var i = 0; i < value.Length; i++, characters++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c) || (char.IsControl(c) && !(allowNewlines && c is '\n' or '\t')) || c is '\u2028' or '\u2029' ||
                     IsBidiControl(c))
            {
                return false;
            }
        }

        return characters <= maxLength;
    }

    /// <summary>True when <paramref name="value"/> has a character that shows: not only white space and invisible format
    /// characters (a zero-width space, a joiner, a byte order mark), which would make an empty-looking label.</summary>
    public static bool HasVisible(string? value)
    {
        foreach (var c in value ?? "")
        {
            if (!char.IsWhiteSpace(c) && char.GetUnicodeCategory(c) != System.Globalization.UnicodeCategory.Format)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsBidiControl(char c) => c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';
}
