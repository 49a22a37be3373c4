// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0. If a copy of the MPL was not
// distributed with this file, You can obtain one at https://mozilla.org/MPL/2.0/.
//
// The SMS sentences below are taken from the translations of Mozilla accounts (FxA), made by Mozilla's Pontoon community
// and published under MPL-2.0: repository github.com/mozilla/fxa-content-server-l10n, files locale/<lang>/auth.ftl
// (English source: github.com/mozilla/fxa, fxa-auth-server's auth.ftl). Keys used:
//   recovery-phone-setup-sms-body        "{ $code } is your { -brand-mozilla } verification code. Expires in 5 minutes."
//   recovery-phone-setup-sms-short-body  "{ -brand-mozilla } verification code: { $code }"
//   recovery-phone-signin-sms-short-body "{ -brand-mozilla } code: { $code }"
//   verifyLoginCode-expiry-notice        "It expires in 5 minutes." (hi only)
// Commits read, per locale directory: cs 3cac0b4d, da 5bfd712f, de d25a3a4e, es_ES b9f03900, fi 0809d2c4, fr 4ac9f3a8,
// hi_IN 83b9d44a, id d52bf405, ja 5a6d558e, ko 83b9d44a, nb_NO 33f4ee92, nl a5602921, pl d1447e3e, ru 1495ef70,
// sv_SE 9781f3d2, tr cfb56b1f, uk 485970cf, vi 651c6c46, zh_CN f46d8f75, zh_TW b50562c5; it and pt_BR from a newer
// version of their auth.ftl whose commit was not recorded (docs/LOCALES.md says how to pin it). Substitutions: { $code } -> {code},
// { -brand-mozilla } (with any case) -> {brand}, the fixed 5 minutes -> {minutes}; every other change is listed per
// locale in docs/LOCALES.md. The voice texts (Voice, VoiceAgain) are this service's, derived from the same sentences
// as docs/LOCALES.md says; they are under the same licence as the rest of this file. This file is the only part of
// AuthService under MPL-2.0 (THIRD-PARTY-NOTICES.md).

namespace AuthService.Core.Phone;

public static partial class CodeLocales
{
    private const string SetupBody = "Mozilla accounts auth.ftl recovery-phone-setup-sms-body";
    private const string SetupShort = "Mozilla accounts auth.ftl recovery-phone-setup-sms-short-body";
    private const string SigninShort = "Mozilla accounts auth.ftl recovery-phone-signin-sms-short-body";

    /// <summary>The locales whose SMS comes from Mozilla accounts' translations (<see cref="CodeLocale.Source"/> names
    /// the key). A property, not a field: <see cref="All"/> in the other half of this class reads it while the type
    /// initialises, and field initialisers of two files run in no order one may rely on.</summary>
    internal static CodeLocale[] Sourced =>
    [
        new("cs", "cs-CZ", "Kód {brand}: {code}.", " Platnost vyprší za {minutes} min.",
            "Kód {brand}: {digits}.", "Ještě jednou, kód {brand}: {digits}.",
            SigninShort + " + recovery-phone-setup-sms-body (validity)", SayVoice: "Azure.cs-CZ-VlastaNeural"),
        new("da", "da-DK", "{code} er din {brand}-bekræftelseskode.", " Den udløber om {minutes} minutter.",
            "{brand}-bekræftelseskode: {digits}.", "Igen, {brand}-bekræftelseskode: {digits}.", SetupBody),
        new("de", "de-DE", "{code} ist Ihr {brand}-Bestätigungscode.", " Läuft in {minutes} Minuten ab.",
            "{brand}-Verifizierungscode: {digits}.", "Noch einmal, {brand}-Verifizierungscode: {digits}.", SetupBody),
        new("es", "es-ES", "Código de {brand}: {code}.", " Caduca en {minutes} minutos.",
            "Código de {brand}: {digits}.", "Repito, código de {brand}: {digits}.",
            SigninShort + " + recovery-phone-setup-sms-body (validity)"),
        new("fi", "fi-FI", "{code} on {brand}-vahvistuskoodisi.", " Vanhenee {minutes} minuutissa.",
            "{brand}-vahvistuskoodi: {digits}.", "Toistan, {brand}-vahvistuskoodi: {digits}.", SetupBody, SayVoice: "Azure.fi-FI-NooraNeural"),
        new("fr", "fr-FR", "{code} est votre code de vérification {brand}.", " Expire dans {minutes} minutes.",
            "Votre code de vérification {brand} est {digits}.", "Je répète, votre code de vérification {brand} est {digits}.",
            SetupBody),
        new("hi", "hi-IN", "{brand} कोड: {code}।", " यह {minutes} मिनट में समाप्त हो जाता है।",
            "{brand} कोड: {digits}।", "फिर से, {brand} कोड: {digits}।",
            SigninShort + " + verifyLoginCode-expiry-notice (validity)"),
        new("id", "id-ID", "{code} adalah kode verifikasi {brand} Anda.", " Kedaluwarsa dalam {minutes} menit.",
            "Kode verifikasi {brand}: {digits}.", "Sekali lagi, kode verifikasi {brand}: {digits}.", SetupBody, SayVoice: "Azure.id-ID-GadisNeural"),
        new("it", "it-IT", "{code} è il tuo codice di verifica per {brand}.", " Scade tra {minutes} minuti.",
            "Codice di verifica {brand}: {digits}.", "Ripeto, codice di verifica {brand}: {digits}.", SetupBody),
        new("ja", "ja-JP", "{brand} の確認コードは {code} です。", "{minutes} 分間有効です。",
            "{brand} の確認コードは {digits} です。", "もう一度繰り返します。{brand} の確認コードは {digits} です。", SetupBody),
        new("ko", "ko-KR", "{code}는 {brand} 인증 코드입니다.", " {minutes}분 후에 만료됩니다.",
            "{brand} 인증 코드: {digits}.", "다시 한 번, {brand} 인증 코드: {digits}.", SetupBody),
        new("nb", "nb-NO", "{code} er din {brand}-bekreftelseskode.", " Utløper om {minutes} minutter.",
            "{brand}-bekreftelseskode: {digits}.", "Igjen, {brand}-bekreftelseskode: {digits}.", SetupBody),
        new("nl", "nl-NL", "{code} is uw {brand}-verificatiecode.", " Verloopt over {minutes} minuten.",
            "{brand}-verificatiecode: {digits}.", "Nogmaals, {brand}-verificatiecode: {digits}.", SetupBody),
        new("pl", "pl-PL", "Kod {brand}: {code}.", " Wygasa w ciągu {minutes} min.",
            "Kod {brand}: {digits}.", "Powtarzam, kod {brand}: {digits}.",
            SigninShort + " + recovery-phone-setup-sms-body (validity)"),
        new("pt-BR", "pt-BR", "Código {brand}: {code}.", " Expira em {minutes} minutos.",
            "Código {brand}: {digits}.", "Repetindo, código {brand}: {digits}.",
            SigninShort + " + recovery-phone-setup-sms-body (validity)"),
        new("ru", "ru-RU", "Код подтверждения {brand}: {code}.", " Действует {minutes} мин.",
            "Код подтверждения {brand}: {digits}.", "Повторяю, код подтверждения {brand}: {digits}.",
            SetupShort + " (validity: own)"),
        new("sv", "sv-SE", "{code} är din verifieringskod för {brand}.", " Upphör om {minutes} minuter.",
            "Din verifieringskod för {brand} är {digits}.", "Igen, din verifieringskod för {brand} är {digits}.", SetupBody),
        new("tr", "tr-TR", "{brand} dogrulama kodunuz: {code}.", " Gecerlilik suresi {minutes} dakikadir.",
            "{brand} doğrulama kodunuz: {digits}.", "Tekrar ediyorum, {brand} doğrulama kodunuz: {digits}.", SetupBody),
        new("uk", "uk-UA", "Код підтвердження {brand}: {code}.", " Дійсний {minutes} хв.",
            "Код підтвердження {brand}: {digits}.", "Повторюю, код підтвердження {brand}: {digits}.",
            SetupShort + " (validity: own)", SayVoice: "Azure.uk-UA-PolinaNeural"),
        new("vi", "vi-VN", "Mã xác minh {brand}: {code}.", " Hết hạn sau {minutes} phút.",
            "Mã xác minh {brand}: {digits}.", "Xin nhắc lại, mã xác minh {brand}: {digits}.",
            SetupShort + " + recovery-phone-setup-sms-body (validity)", SayVoice: "Azure.vi-VN-HoaiMyNeural"),
        new("zh-Hans", "cmn-CN", "{brand} 验证码：{code}", "，{minutes} 分钟内有效。",
            "{brand} 验证码：{digits}。", "再说一遍，{brand} 验证码：{digits}。", SetupBody),
        new("zh-Hant", "zh-TW", "您的{brand}驗證碼為{code}", "，有效期限{minutes}分鐘。",
            "您的{brand}驗證碼為 {digits}。", "再說一遍，您的{brand}驗證碼為 {digits}。", SetupBody, SayVoice: "Azure.zh-TW-HsiaoChenNeural"),
    ];
}
