using System.Xml.Linq;

namespace AuthService.Core.Phone;

/// <summary>The words a phone code is delivered in: the SMS text and the TeXML voice script.</summary>
public static class CodeMessages
{
    /// <summary><c>Your {issuer} verification code is 123456. It expires in 10 minutes.</c> — the validity is
    /// <see cref="PhoneCodes.ValidityMinutes"/> unless a caller (a test of the wording) says otherwise.</summary>
    public static string Sms(string issuer, string code, int expiresInMinutes = PhoneCodes.ValidityMinutes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issuer);
        EnsureDigits(code);
        ArgumentOutOfRangeException.ThrowIfLessThan(expiresInMinutes, 1);
        var unit = expiresInMinutes == 1 ? "minute" : "minutes";
        return $"Your {issuer} verification code is {code}. It expires in {expiresInMinutes} {unit}.";
    }

    /// <summary>The digits one by one, separated so that text-to-speech reads them singly: <c>1, 2, 3, 4, 5, 6</c>.</summary>
    public static string SpokenDigits(string code)
    {
        EnsureDigits(code);
        return string.Join(", ", code.ToCharArray());
    }

    /// <summary>
    /// A TeXML document that says the code twice with a pause between, so a listener who picks up
    /// late still hears it whole. The issuer is XML-escaped.
    /// </summary>
    public static string VoiceTexml(string issuer, string code)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issuer);
        var digits = SpokenDigits(code);
        var response = new XElement("Response",
            new XElement("Say", $"Your {issuer} verification code is {digits}."),
            new XElement("Pause", new XAttribute("length", 1)),
            new XElement("Say", $"Again, your {issuer} verification code is {digits}."));
        return """<?xml version="1.0" encoding="UTF-8"?>""" + response.ToString(SaveOptions.DisableFormatting);
    }

    private static void EnsureDigits(string code)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        if (code.AsSpan().ContainsAnyExceptInRange('0', '9'))
            throw new ArgumentException("A code is digits only.", nameof(code));
    }
}
