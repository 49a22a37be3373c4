using System.Diagnostics.CodeAnalysis;
using PhoneNumbers;

namespace AuthService.Core.Phone;

/// <summary>Why a phone number was refused. Expected user input errors, not caller bugs.</summary>
public enum PhoneNumberError
{
    None,
    Empty,
    MissingPlus,
    InvalidCharacters,
    TooShort,
    TooLong,
    InvalidNumber,
}

/// <summary>Outcome of <see cref="PhoneNumbers.Parse"/>: the normalized E.164 number, or why there is none.</summary>
public readonly record struct PhoneNumberParseResult(string? E164, PhoneNumberError Error)
{
    [MemberNotNullWhen(true, nameof(E164))]
    public bool IsValid => Error == PhoneNumberError.None && E164 is not null;

    internal static PhoneNumberParseResult Fail(PhoneNumberError error) => new(null, error);
}

/// <summary>Phone-number rules: strict E.164 input (ITU-T E.164, validated with libphonenumber) and masking for display and logs.</summary>
public static class PhoneNumbers
{
    // E.164 allows at most 15 digits including the country calling code; the shortest valid
    // numbers in libphonenumber's metadata have 7 digits in total (e.g. some Niue/Saint Helena numbers).
    private const int MinDigits = 7;
    private const int MaxDigits = 15;

    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    /// <summary>
    /// Accepts only international numbers written as '+' then digits. Spaces, hyphens, dots and
    /// parentheses are tolerated as visual separators and dropped; letters (vanity numbers) and a
    /// missing '+' are refused rather than guessed, because guessing a region could send a code
    /// to somebody else's phone.
    /// </summary>
    public static PhoneNumberParseResult Parse(string? input)
    {
        if (string.IsNullOrWhiteSpace(input))
            return PhoneNumberParseResult.Fail(PhoneNumberError.Empty);

        var text = input.Trim();
        if (text[0] != '+')
            return PhoneNumberParseResult.Fail(PhoneNumberError.MissingPlus);

        Span<char> digits = stackalloc char[text.Length];
        var count = 0;
        foreach (var c in text.AsSpan(1))
        {
            if (char.IsAsciiDigit(c))
                digits[count++] = c;
            else if (c is not (' ' or '-' or '.' or '(' or ')'))
                return PhoneNumberParseResult.Fail(PhoneNumberError.InvalidCharacters);
        }

        if (count < MinDigits)
            return PhoneNumberParseResult.Fail(PhoneNumberError.TooShort);
        if (count > MaxDigits)
            return PhoneNumberParseResult.Fail(PhoneNumberError.TooLong);

        var candidate = "+" + new string(digits[..count]);
        PhoneNumber number;
        try
        {
            number = Util.Parse(candidate, null);
        }
        catch (NumberParseException)
        {
            return PhoneNumberParseResult.Fail(PhoneNumberError.InvalidNumber);
        }

        if (!Util.IsValidNumber(number))
            return PhoneNumberParseResult.Fail(PhoneNumberError.InvalidNumber);

        var e164 = Util.Format(number, PhoneNumberFormat.E164);
        // Leading zeros or a trunk prefix would be dropped by the formatter; strict input means what
        // the user typed already was the E.164 form.
        return e164 == candidate
            ? new PhoneNumberParseResult(e164, PhoneNumberError.None)
            : PhoneNumberParseResult.Fail(PhoneNumberError.InvalidNumber);
    }

    /// <summary>Convenience form of <see cref="Parse"/>.</summary>
    public static bool TryParse(string? input, [NotNullWhen(true)] out string? e164)
    {
        var result = Parse(input);
        e164 = result.E164;
        return result.IsValid;
    }

    /// <summary>
    /// Masks a number for display and logs: the country calling code and the last four digits stay,
    /// every other digit becomes '*' (<c>+13035550123</c> → <c>+1******0123</c>). Never throws, so it
    /// is safe in logging paths; input that is not E.164 keeps at most its last two characters.
    /// </summary>
    public static string Mask(string? e164)
    {
        if (string.IsNullOrEmpty(e164))
            return string.Empty;

        if (e164[0] == '+' && e164.Length > 1 && !e164.AsSpan(1).ContainsAnyExceptInRange('0', '9'))
        {
            var digits = e164[1..];
            var countryCode = CountryCallingCodeLength(e164);
            var visibleTail = Math.Min(4, Math.Max(0, digits.Length - countryCode));
            var stars = digits.Length - countryCode - visibleTail;
            if (countryCode > 0 && stars > 0)
                return "+" + digits[..countryCode] + new string('*', stars) + digits[^visibleTail..];
        }

        return e164.Length <= 4 ? new string('*', e164.Length) : new string('*', e164.Length - 2) + e164[^2..];
    }

    private static int CountryCallingCodeLength(string e164)
    {
        try
        {
            var code = Util.Parse(e164, null).CountryCode;
            return code > 0 ? code.ToString(System.Globalization.CultureInfo.InvariantCulture).Length : 0;
        }
        catch (NumberParseException)
        {
            return 0;
        }
    }
}
