namespace AuthService.Core.Phone;

/// <summary>How an SMS text is encoded on the air interface, and so how many characters one segment holds.</summary>
public enum SmsEncoding
{
    /// <summary>The GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1): 160 septets a segment; a character of the
    /// extension table (<c>{ } [ ] ~ \ ^ | €</c> and form feed) takes two.</summary>
    Gsm7,

    /// <summary>Anything else: UCS-2 (UTF-16 code units), 70 a segment.</summary>
    Ucs2,
}

/// <summary>What one text costs: its encoding, its length in that encoding's units and the one-segment limit.</summary>
public readonly record struct SmsMeasure(SmsEncoding Encoding, int Units)
{
    public const int Gsm7SegmentUnits = 160;
    public const int Ucs2SegmentUnits = 70;

    public int SegmentLimit => Encoding == SmsEncoding.Gsm7 ? Gsm7SegmentUnits : Ucs2SegmentUnits;

    public bool FitsOneSegment => Units <= SegmentLimit;
}

/// <summary>The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038), without national shift tables:
/// a text that uses no other character goes as GSM-7, anything else turns the whole message into UCS-2.</summary>
public static class Gsm7
{
    /// <summary>The 128 characters of the default alphabet, in their table order (0x1B, the escape to the extension
    /// table, is left out).</summary>
    private const string Basic =
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

    /// <summary>The extension table: each costs the escape septet plus its own.</summary>
    private const string Extension = "\f^{}\\[~]|€";

    private static readonly HashSet<char> BasicSet = [.. Basic];
    private static readonly HashSet<char> ExtensionSet = [.. Extension];

    public static bool IsBasic(char c) => BasicSet.Contains(c);

    public static bool IsExtension(char c) => ExtensionSet.Contains(c);

    /// <summary>True when every character of <paramref name="text"/> is in the default alphabet or its extension.</summary>
    public static bool CanEncode(string text) => text.All(c => BasicSet.Contains(c) || ExtensionSet.Contains(c));

    /// <summary>The encoding a phone network uses for <paramref name="text"/> and its length in that encoding.</summary>
    public static SmsMeasure Measure(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!CanEncode(text))
        {
            return new SmsMeasure(SmsEncoding.Ucs2, text.Length);
        }

        return new SmsMeasure(SmsEncoding.Gsm7, text.Sum(c => ExtensionSet.Contains(c) ? 2 : 1));
    }
}
