namespace AuthService.Core.Phone;

/// <summary>
/// The words of one locale. <see cref="Sms"/> holds <c>{brand}</c> and <c>{code}</c>; <see cref="SmsTail"/>, the sentence
/// after it (the validity in <c>{minutes}</c>, written where the language can say a number of minutes with one form, or a
/// warning not to share the code), is left out when the origin-bound line would not fit beside it; <see cref="Voice"/> and
/// <see cref="VoiceAgain"/> hold <c>{brand}</c> and <c>{digits}</c>. <see cref="SayLanguage"/> is the TeXML
/// <c>&lt;Say language=…&gt;</c> value. Where each text comes from: docs/LOCALES.md.
/// </summary>
public sealed record CodeLocale(string Tag, string SayLanguage, string Sms, string SmsTail, string Voice, string VoiceAgain);

/// <summary>The locales phone codes are sent in (DESIGN §9.5), and how a requested BCP 47 tag finds one.</summary>
public static class CodeLocales
{
    public const string English = "en";

    /// <summary>Every locale, by its canonical BCP 47 tag. Written by hand (no machine translation at run time);
    /// docs/LOCALES.md says where each wording comes from.</summary>
    public static readonly IReadOnlyList<CodeLocale> All =
    [
        new("en", "en-US", "Your {brand} verification code is {code}.", " It expires in {minutes} minutes.",
            "Your {brand} verification code is {digits}.", "Again, your {brand} verification code is {digits}."),
        new("ar", "ar-XA", "{code} هو رمز التحقق من {brand}.", " لا تشاركه مع أحد.",
            "رمز التحقق من {brand} هو {digits}.", "مرة أخرى، رمز التحقق من {brand} هو {digits}."),
        new("cs", "cs-CZ", "{code} je váš ověřovací kód {brand}.", " Platí {minutes} min.",
            "Váš ověřovací kód {brand} je {digits}.", "Ještě jednou, váš ověřovací kód {brand} je {digits}."),
        new("da", "da-DK", "Din {brand}-bekræftelseskode er {code}.", " Gyldig i {minutes} min.",
            "Din {brand}-bekræftelseskode er {digits}.", "Igen, din {brand}-bekræftelseskode er {digits}."),
        new("de", "de-DE", "Ihr {brand}-Bestätigungscode lautet {code}.", " Gültig für {minutes} Min.",
            "Ihr {brand}-Bestätigungscode lautet {digits}.", "Noch einmal, Ihr {brand}-Bestätigungscode lautet {digits}."),
        new("es", "es-ES", "{code} es tu código de {brand}.", " Caduca en {minutes} min.",
            "Tu código de verificación de {brand} es {digits}.", "Repito, tu código de verificación de {brand} es {digits}."),
        new("fi", "fi-FI", "{brand}-vahvistuskoodisi on {code}.", " Voimassa {minutes} min.",
            "{brand}-vahvistuskoodisi on {digits}.", "Toistan, {brand}-vahvistuskoodisi on {digits}."),
        new("fr", "fr-FR", "Votre code de vérification {brand} est {code}.", " Il expire dans {minutes} min.",
            "Votre code de vérification {brand} est {digits}.", "Je répète, votre code de vérification {brand} est {digits}."),
        new("hi", "hi-IN", "आपका {brand} सत्यापन कोड {code} है।", " {minutes} मिनट तक मान्य।",
            "आपका {brand} सत्यापन कोड है {digits}।", "फिर से, आपका {brand} सत्यापन कोड है {digits}।"),
        new("id", "id-ID", "Kode verifikasi {brand} Anda: {code}.", " Berlaku {minutes} menit.",
            "Kode verifikasi {brand} Anda adalah {digits}.", "Sekali lagi, kode verifikasi {brand} Anda adalah {digits}."),
        new("it", "it-IT", "{code} è il tuo codice di verifica {brand}.", " Scade tra {minutes} min.",
            "Il tuo codice di verifica {brand} è {digits}.", "Ripeto, il tuo codice di verifica {brand} è {digits}."),
        new("ja", "ja-JP", "{brand}の確認コード: {code}", "（{minutes}分間有効）",
            "{brand}の確認コードは {digits} です。", "もう一度繰り返します。{brand}の確認コードは {digits} です。"),
        new("ko", "ko-KR", "[{brand}] 인증번호: {code}", " ({minutes}분간 유효)",
            "{brand} 인증번호는 {digits} 입니다.", "다시 한 번, {brand} 인증번호는 {digits} 입니다."),
        new("nb", "nb-NO", "Din {brand}-bekreftelseskode er {code}.", " Gyldig i {minutes} min.",
            "Din {brand}-bekreftelseskode er {digits}.", "Igjen, din {brand}-bekreftelseskode er {digits}."),
        new("nl", "nl-NL", "Je {brand}-verificatiecode is {code}.", " Geldig voor {minutes} min.",
            "Je {brand}-verificatiecode is {digits}.", "Nogmaals, je {brand}-verificatiecode is {digits}."),
        new("pl", "pl-PL", "{code} to Twój kod {brand}.", " Ważny {minutes} min.",
            "Twój kod weryfikacyjny {brand} to {digits}.", "Powtarzam, Twój kod weryfikacyjny {brand} to {digits}."),
        new("pt-BR", "pt-BR", "{code} é seu código {brand}.", " Expira em {minutes} min.",
            "Seu código de verificação {brand} é {digits}.", "Repetindo, seu código de verificação {brand} é {digits}."),
        new("ru", "ru-RU", "Код подтверждения {brand}: {code}.", " Действует {minutes} мин.",
            "Ваш код подтверждения {brand}: {digits}.", "Повторяю, ваш код подтверждения {brand}: {digits}."),
        new("sv", "sv-SE", "Din verifieringskod för {brand} är {code}.", " Giltig i {minutes} min.",
            "Din verifieringskod för {brand} är {digits}.", "Igen, din verifieringskod för {brand} är {digits}."),
        new("tr", "tr-TR", "{brand} doğrulama kodunuz: {code}.", " {minutes} dk geçerli.",
            "{brand} doğrulama kodunuz {digits}.", "Tekrar ediyorum, {brand} doğrulama kodunuz {digits}."),
        new("uk", "uk-UA", "Код підтвердження {brand}: {code}.", " Дійсний {minutes} хв.",
            "Ваш код підтвердження {brand}: {digits}.", "Повторюю, ваш код підтвердження {brand}: {digits}."),
        new("vi", "vi-VN", "{code} là mã xác thực {brand}.", " Hiệu lực {minutes} phút.",
            "Mã xác thực {brand} của bạn là {digits}.", "Xin nhắc lại, mã xác thực {brand} của bạn là {digits}."),
        new("zh-Hans", "cmn-CN", "【{brand}】验证码：{code}。", "{minutes}分钟内有效，请勿泄露。",
            "您的{brand}验证码是 {digits}。", "再说一遍，您的{brand}验证码是 {digits}。"),
        new("zh-Hant", "cmn-TW", "【{brand}】驗證碼：{code}。", "{minutes}分鐘內有效，請勿洩露。",
            "您的{brand}驗證碼是 {digits}。", "再說一遍，您的{brand}驗證碼是 {digits}。"),
    ];

    private static readonly Dictionary<string, CodeLocale> ByTag = All.ToDictionary(l => l.Tag, StringComparer.OrdinalIgnoreCase);

    /// <summary>Tags that name one of ours by another spelling: a script or region subtag our tag leaves implicit.</summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pt"] = "pt-BR", ["zh"] = "zh-Hans", ["zh-CN"] = "zh-Hans", ["zh-SG"] = "zh-Hans", ["zh-Hans-CN"] = "zh-Hans",
        ["zh-TW"] = "zh-Hant", ["zh-HK"] = "zh-Hant", ["zh-MO"] = "zh-Hant", ["zh-Hant-TW"] = "zh-Hant", ["no"] = "nb", ["nn"] = "nb",
    };

    /// <summary>Every canonical tag, for documentation and error messages.</summary>
    public static IReadOnlyList<string> Tags => All.Select(l => l.Tag).ToList();

    /// <summary>The locale a BCP 47 tag asks for: the tag itself (any case), an alias (<c>zh-TW</c> → <c>zh-Hant</c>),
    /// or its language alone (<c>de-AT</c> → <c>de</c>, <c>pt-PT</c> → <c>pt-BR</c>); null when none of ours matches or
    /// the tag is not well formed.</summary>
    public static CodeLocale? Find(string? tag)
    {
        if (string.IsNullOrWhiteSpace(tag) || tag.Length > 35 || !tag.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return null;
        }

        if (ByTag.TryGetValue(tag, out var exact))
        {
            return exact;
        }

        if (Aliases.TryGetValue(tag, out var alias))
        {
            return ByTag[alias];
        }

        var subtags = tag.Split('-');
        var language = subtags[0];
        if (language.Length is < 2 or > 3)
        {
            return null;
        }

        if (language.Equals("zh", StringComparison.OrdinalIgnoreCase)
            && subtags.Skip(1).Any(s => s is "Hant" or "hant" or "TW" or "tw" or "HK" or "hk" or "MO" or "mo"))
        {
            return ByTag["zh-Hant"];
        }

        if (Aliases.TryGetValue(language, out var byLanguage))
        {
            return ByTag[byLanguage];
        }

        return ByTag.TryGetValue(language, out var found) ? found : null;
    }
}
