using System.Text.Json;
using AuthService.Api.Events;
using AuthService.Api.Profiles;
using AuthService.Api.Telephony;
using AuthService.Core.Phone;
using AuthService.Core.Totp;
using Microsoft.Extensions.Configuration;

namespace AuthService.Tests.Profiles;

/// <summary>Reading and validating <c>Profiles:{name}:…</c>: the defaults, every rule with its failure, all problems in one
/// message.</summary>
public class VerifyProfilesTests
{
    private static VerifyProfiles Read(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return VerifyProfiles.FromConfiguration(configuration, TelephonyControls.FromConfiguration(configuration), "AuthService", TotpProfile.Default);
    }

    private static string Refusal(Dictionary<string, string?> settings) =>
        Assert.Throws<InvalidOperationException>(() => Read(settings))!.Message;

    [Test]
    public void A_profile_without_its_own_totp_values_inherits_the_deployments_even_outside_the_profile_range()
    {
        // The failover rig widens Totp:PeriodSeconds to 300 s; the deployment validated it, the profile only inherits it.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Profiles:acme:Brand"] = "Acme",
        }).Build();
        var wide = new TotpProfile(TotpAlgorithm.Sha1, 6, 300);
        var profiles = VerifyProfiles.FromConfiguration(configuration, TelephonyControls.FromConfiguration(configuration), "AuthService", wide);

        Assert.That(profiles.Default.Totp.PeriodSeconds, Is.EqualTo(300));
        Assert.That(profiles.Find("acme")!.Totp.PeriodSeconds, Is.EqualTo(300));
        Assert.That(Refusal(new() { ["Profiles:acme:TotpPeriod"] = "300" }), Does.Contain("Profiles:acme:TotpPeriod must be a whole number from 30 to 60"),
            "a profile's own value stays within 30–60");
    }

    [Test]
    public void Without_configuration_the_default_profile_is_todays_behaviour()
    {
        var profile = Read([]).Default;

        Assert.Multiple(() =>
        {
            Assert.That(profile.Name, Is.EqualTo("default"));
            Assert.That(profile.Brand, Is.EqualTo("AuthService"));
            Assert.That(profile.CodeLength, Is.EqualTo(6));
            Assert.That(profile.ValidityMinutes, Is.EqualTo(10));
            Assert.That(profile.Totp, Is.EqualTo(TotpProfile.Default));
            Assert.That(profile.DefaultLocale.Tag, Is.EqualTo("en"));
            Assert.That(profile.Domain, Is.Null);
            Assert.That(profile.Sms(profile.LocaleFor(null, "+13035550123"), "123456"),
                Is.EqualTo(CodeMessages.Sms("AuthService", "123456")), "the English text of v1, unchanged");
        });
    }

    [Test]
    public void A_named_profile_is_found_in_any_case_and_keeps_its_settings()
    {
        var profiles = Read(new()
        {
            ["Profiles:Acme:Brand"] = "Acme", ["Profiles:Acme:Length"] = "7", ["Profiles:Acme:CountryLocales:br"] = "pt",
            ["Profiles:Acme:AllowedCountries:Sms"] = "us, br",
        });

        var acme = profiles.Find("ACME")!;
        Assert.That(profiles.Names, Is.EqualTo(new[] { "acme", "default" }));
        Assert.That(acme.CodeLength, Is.EqualTo(7));
        Assert.That(acme.LocaleFor(null, "+5511987654321").Tag, Is.EqualTo("pt-BR"));
        Assert.That(acme.LocaleFor(CodeLocales.Find("vi"), "+5511987654321").Tag, Is.EqualTo("vi"));
        Assert.That(acme.Reaches(CodeChannel.Sms, "+5511987654321"), Is.True);
        Assert.That(acme.Reaches(CodeChannel.Sms, "+4915123456789"), Is.False);
        Assert.That(acme.Reaches(CodeChannel.Call, "+4915123456789"), Is.True, "no Call list: the deployment's");
        Assert.That(profiles.Find("initech"), Is.Null);
    }

    /// <summary>DESIGN §9.5: "else by the number's country". Out of the box a German number reads German; a profile's own entry
    /// wins over the built-in one; a country of several languages, or a profile that turns the built-in map off, takes the
    /// profile's default.</summary>
    [Test]
    public void The_numbers_country_chooses_the_locale_the_profiles_entries_override_it_and_it_can_be_turned_off()
    {
        const string german = "+4915123456789", swiss = "+41781234567", brazilian = "+5511987654321";
        var profiles = Read(new()
        {
            ["Profiles:acme:DefaultLocale"] = "it", ["Profiles:acme:CountryLocales:DE"] = "en",
            ["Profiles:local:DefaultLocale"] = "fr", ["Profiles:local:BuiltInCountryLocales"] = "false", ["Profiles:local:CountryLocales:BR"] = "es",
        });
        var (standard, acme, local) = (profiles.Default, profiles.Find("acme")!, profiles.Find("local")!);

        Assert.Multiple(() =>
        {
            Assert.That(standard.LocaleFor(null, german).Tag, Is.EqualTo("de"), "built in: DE → de");
            Assert.That(standard.LocaleFor(null, brazilian).Tag, Is.EqualTo("pt-BR"));
            Assert.That(standard.LocaleFor(null, swiss).Tag, Is.EqualTo("en"), "CH has four languages: the default");
            Assert.That(standard.LocaleFor(CodeLocales.Find("ja"), german).Tag, Is.EqualTo("ja"), "the request's locale first");
            Assert.That(acme.LocaleFor(null, german).Tag, Is.EqualTo("en"), "the profile's entry over the built-in one");
            Assert.That(acme.LocaleFor(null, brazilian).Tag, Is.EqualTo("pt-BR"), "the rest of the built-in map stays");
            Assert.That(acme.LocaleFor(null, swiss).Tag, Is.EqualTo("it"));
            Assert.That(local.LocaleFor(null, german).Tag, Is.EqualTo("fr"), "built-in map off: the default");
            Assert.That(local.LocaleFor(null, brazilian).Tag, Is.EqualTo("es"), "built-in map off: the profile's own entries stay");
        });
        Assert.That(Refusal(new() { ["Profiles:acme:BuiltInCountryLocales"] = "no" }),
            Does.Contain("Profiles:acme:BuiltInCountryLocales must be true or false, not 'no'"));
    }

    [Test]
    public void Every_bad_value_is_named_in_one_message()
    {
        var message = Refusal(new()
        {
            ["Profiles:acme:Brand"] = "Acme Corporation International",
            ["Profiles:acme:Length"] = "5",
            ["Profiles:acme:ValidityMinutes"] = "11",
            ["Profiles:acme:TotpDigits"] = "7",
            ["Profiles:acme:TotpPeriod"] = "45",
            ["Profiles:acme:DefaultLocale"] = "tlh",
            ["Profiles:acme:CountryLocales:DEU"] = "de",
            ["Profiles:acme:CountryLocales:FR"] = "xx",
            ["Profiles:acme:CountryLocales:UK"] = "en", // the ISO code is GB: no number has region UK
            ["Profiles:acme:AllowedCountries:Sms:0"] = "US",
            ["Profiles:acme:AllowedCountries:Sms:1"] = "ZZ",
            ["Profiles:acme:Domain"] = "https://portal.example.com",
            ["Profiles:acme:Fallback"] = "Pigeon",
            ["Profiles:bad name!:Brand"] = "X",
        });

        Assert.That(message, Does.Contain("Profiles:acme:Brand 'Acme Corporation International' is 30 characters long"));
        Assert.That(message, Does.Contain("Profiles:acme:Length must be a whole number from 6 to 8, not '5'"));
        Assert.That(message, Does.Contain("Profiles:acme:ValidityMinutes must be a whole number from 2 to 10"));
        Assert.That(message, Does.Contain("Profiles:acme:TotpDigits must be 6 or 8, not 7"));
        Assert.That(message, Does.Contain("Profiles:acme:TotpPeriod must be 30 or 60, not 45"));
        Assert.That(message, Does.Contain("Profiles:acme:DefaultLocale 'tlh' is not one of the locales"));
        Assert.That(message, Does.Contain("Profiles:acme:CountryLocales:DEU is not an ISO 3166 alpha-2 country code"));
        Assert.That(message, Does.Contain("Profiles:acme:CountryLocales:FR 'xx' is not one of the locales"));
        Assert.That(message, Does.Contain("Profiles:acme:CountryLocales:UK is not an ISO 3166 alpha-2 country code with phone numbers"));
        Assert.That(message, Does.Contain("Profiles:acme:AllowedCountries:Sms holds ZZ, not ISO 3166 alpha-2 codes of countries with phone numbers"));
        Assert.That(message, Does.Contain("Profiles:acme:Domain 'https://portal.example.com' is not a lower-case host name"));
        Assert.That(message, Does.Contain("Profiles:acme:Fallback must be None or SmsThenCall, not 'Pigeon'"));
        Assert.That(message, Does.Contain("Profiles:bad name!: a profile name is 1–40 characters"));
    }

    /// <summary>The brand is also the TOTP issuer, which <c>OtpAuthUri</c> refuses with a colon: a colon used to pass the start
    /// and make every TOTP enrollment of that profile (or of <c>Auth:Issuer</c>'s default profile) a 500.</summary>
    [Test]
    public void A_brand_with_a_colon_is_refused_at_the_start()
    {
        Assert.That(Refusal(new() { ["Profiles:acme:Brand"] = "Acme: Bank" }), Does.Contain("Profiles:acme:Brand 'Acme: Bank' holds ':'"));

        // Auth:Issuer is the default profile's brand when it has none of its own.
        var configuration = new ConfigurationBuilder().Build();
        var issuer = Assert.Throws<InvalidOperationException>(() =>
            VerifyProfiles.FromConfiguration(configuration, TelephonyControls.FromConfiguration(configuration), "Acme: Bank", TotpProfile.Default));
        Assert.That(issuer!.Message, Does.Contain("Profiles:default:Brand 'Acme: Bank' holds ':'"));
    }

    [Test]
    public void A_profile_country_outside_the_deployments_list_is_refused()
    {
        var message = Refusal(new()
        {
            ["Telephony:AllowedCountries:Sms"] = "US,CA",
            ["Profiles:acme:AllowedCountries:Sms"] = "US,DE,FR",
        });

        Assert.That(message, Does.Contain("Profiles:acme:AllowedCountries:Sms lists DE, FR, outside Telephony:AllowedCountries:Sms"));
    }

    [Test]
    public void A_brand_and_domain_that_overflow_a_segment_in_some_locale_are_refused_with_the_locales()
    {
        var message = Refusal(new()
        {
            ["Profiles:default:Brand"] = "Wwwwwwwwwwwwwwwwwwww",
            ["Profiles:default:Length"] = "8",
            ["Profiles:default:Domain"] = "verification.portal.example.com",
        });

        Assert.That(message, Does.Contain("the SMS does not fit one segment in").And.Contain("ja (").And.Contain("of 70 Ucs2)"));
        Assert.That(message, Does.Contain("shorten the brand or the domain"));
    }

    [Test]
    public void The_sms_then_call_fallback_needs_the_telnyx_public_key()
    {
        var message = Refusal(new() { ["Profiles:default:Fallback"] = "SmsThenCall" });

        Assert.That(message, Does.Contain("Profiles:default:Fallback SmsThenCall needs Telephony:Telnyx:WebhookPublicKey"));
    }

    [Test]
    public void Webhook_events_carry_the_profile_of_the_request_that_wrote_them()
    {
        var now = DateTimeOffset.UnixEpoch;
        EventProfile.Current = "acme";
        try
        {
            var events = WebhookEvents.FromAudit(new AuditEvent.BackupCodeUsed("backup_code", "login", 1), "ann", null, now);
            Assert.That(events.Select(e => JsonDocument.Parse(e.Body).RootElement.GetProperty("data").GetProperty("profile").GetString()),
                Is.EqualTo(new[] { "acme", "acme" }), "two_factor.backup_code_used and two_factor.backup_codes_low");
        }
        finally
        {
            EventProfile.Current = null;
        }

        var outside = WebhookEvents.FromAudit(new AuditEvent.Locked(5), "ann", null, now).Single();
        Assert.That(JsonDocument.Parse(outside.Body).RootElement.GetProperty("data").TryGetProperty("profile", out _), Is.False);
    }
}
