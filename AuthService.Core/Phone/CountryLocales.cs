namespace AuthService.Core.Phone;

/// <summary>
/// The locale a number's country reads when the request names none (DESIGN §9.5: "else by the number's country"), for the
/// countries where one of our locales is the language the state writes in and nearly everyone reads. Countries where two
/// or more languages share daily written use (BE, CA, CH, LU, IN, SG, ZA, most of Africa, …) are not here: a code to them
/// takes the profile's <c>DefaultLocale</c>, or its own <c>CountryLocales</c> entry. A profile's entries override this map,
/// and <c>BuiltInCountryLocales=false</c> turns it off (docs/LOCALES.md lists it and says why each country is in or out).
/// </summary>
public static class CountryLocales
{
    /// <summary>Locale tag → the countries (ISO 3166 alpha-2, as libphonenumber names a number's region) that read it.</summary>
    private static readonly (string Tag, string[] Countries)[] Table =
    [
        ("en", ["US", "GB", "IE", "AU", "NZ", "IM", "JE", "GG"]),
        ("ar", ["SA", "AE", "EG", "JO", "KW", "QA", "BH", "OM", "YE", "LY", "SY", "PS"]),
        ("cs", ["CZ"]),
        ("da", ["DK"]),
        ("de", ["DE", "AT", "LI"]),
        ("es", ["ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "DO", "HN", "SV", "NI", "CR", "PA", "UY"]),
        ("fi", ["FI"]),
        ("fr", ["FR", "MC", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"]),
        ("id", ["ID"]),
        ("it", ["IT", "SM", "VA"]),
        ("ja", ["JP"]),
        ("ko", ["KR"]),
        ("nb", ["NO", "SJ"]),
        ("nl", ["NL", "SR"]),
        ("pl", ["PL"]),
        ("pt-BR", ["BR", "PT", "AO", "MZ", "CV", "GW", "ST"]),
        ("ru", ["RU"]),
        ("sv", ["SE", "AX"]),
        ("tr", ["TR"]),
        ("uk", ["UA"]),
        ("vi", ["VN"]),
        ("zh-Hans", ["CN"]),
        ("zh-Hant", ["TW", "HK", "MO"]),
    ];

    /// <summary>Country → locale, built once from <see cref="Table"/>.</summary>
    public static readonly IReadOnlyDictionary<string, CodeLocale> BuiltIn =
        Table.SelectMany(row => row.Countries.Select(country => (country, locale: CodeLocales.Find(row.Tag)!)))
            .ToDictionary(pair => pair.country, pair => pair.locale, StringComparer.Ordinal);
}
