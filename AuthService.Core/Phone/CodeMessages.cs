namespace AuthService.Core.Phone;

/// <summary>The English words a phone code is delivered in (<see cref="CodeTexts"/> in <see cref="CodeLocales.English"/>):
/// the SMS text and the TeXML voice script.</summary>
public static class CodeMessages
{
    private static readonly CodeLocale English = CodeLocales.Find(CodeLocales.English)!;

    /// <summary><c>Your {issuer} verification code is 123456. It expires in 10 minutes.</c> — the validity is
    /// <see cref="PhoneCodes.ValidityMinutes"/> unless a caller (a test of the wording) says otherwise.</summary>
    public static string Sms(string issuer, string code, int expiresInMinutes = PhoneCodes.ValidityMinutes) =>
        CodeTexts.Sms(English, issuer, code, expiresInMinutes);

    /// <summary>The digits one by one, separated so that text-to-speech reads them singly: <c>1, 2, 3, 4, 5, 6</c>.</summary>
    public static string SpokenDigits(string code) => CodeTexts.SpokenDigits(code);

    /// <summary>A TeXML document that says the code twice with a pause between; the issuer is XML-escaped.</summary>
    public static string VoiceTexml(string issuer, string code) => CodeTexts.VoiceTexml(English, issuer, code);
}
