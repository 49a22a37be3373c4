using AuthService.Core.Phone;

namespace AuthService.Tests.Core;

/// <summary>DESIGN §8.2 destinations: the toll-fraud numbers of issue 14 are refused, mobile and fixed-line numbers pass,
/// the per-channel country allow-lists apply, and bad configuration is refused with one line naming the bad values.</summary>
public class DestinationPolicyTests
{
    // The numbers the attacker of issue 14 had called or texted.
    [TestCase("+19002345678", "PREMIUM_RATE", "US")]
    [TestCase("+449012345678", "PREMIUM_RATE", "GB")]
    [TestCase("+448431234567", "PREMIUM_RATE", "GB")] // 084x "shared cost" service numbers: premium rate in libphonenumber
    [TestCase("+447012345678", "PERSONAL_NUMBER", "GB")]
    public void Revenue_share_number_types_are_refused_on_both_channels(string e164, string type, string country)
    {
        foreach (var channel in new[] { CodeChannel.Sms, CodeChannel.Call })
        {
            var decision = DestinationPolicy.Default.Check(e164, channel);

            Assert.That(decision.Refusal, Is.EqualTo(DestinationRefusal.NumberType), $"{e164} on {channel}");
            Assert.That(decision.NumberType, Is.EqualTo(type));
            Assert.That(decision.Country, Is.EqualTo(country));
        }
    }

    [TestCase("+870773111632")] // Inmarsat
    [TestCase("+80012345678")]  // international freephone
    public void Non_geographic_numbers_are_refused(string e164)
    {
        var decision = DestinationPolicy.Default.Check(e164, CodeChannel.Call);

        Assert.That(decision.Allowed, Is.False);
        Assert.That(decision.Refusal, Is.AnyOf(DestinationRefusal.NumberType, DestinationRefusal.NonGeographic));
        Assert.That(decision.Country, Is.EqualTo("001"));
    }

    [Test]
    public void A_satellite_number_is_refused_even_when_its_type_is_allowed()
    {
        var everyType = DestinationPolicy.Create(DestinationPolicy.KnownNumberTypes, null, null);

        Assert.That(everyType.Check("+870773111632", CodeChannel.Sms).Refusal, Is.EqualTo(DestinationRefusal.NonGeographic));
        Assert.That(everyType.Check("+19002345678", CodeChannel.Sms).Allowed, Is.True, "an operator who allows every type gets them");
    }

    [TestCase("+13035550123", "US")]   // FIXED_LINE_OR_MOBILE (North America)
    [TestCase("+447400123456", "GB")]  // MOBILE
    [TestCase("+442079460123", "GB")]  // FIXED_LINE (London)
    [TestCase("+4915123456789", "DE")] // MOBILE
    [TestCase("+33612345678", "FR")]   // MOBILE
    public void Mobile_and_fixed_line_numbers_pass_by_default(string e164, string country)
    {
        foreach (var channel in new[] { CodeChannel.Sms, CodeChannel.Call })
        {
            var decision = DestinationPolicy.Default.Check(e164, channel);

            Assert.That(decision.Allowed, Is.True, $"{e164} on {channel}: {decision}");
            Assert.That(decision.Country, Is.EqualTo(country));
        }
    }

    [Test]
    public void Country_allow_lists_are_per_channel()
    {
        var policy = DestinationPolicy.Create(null, ["us", " GB "], ["US"]);

        Assert.Multiple(() =>
        {
            Assert.That(policy.Check("+447400123456", CodeChannel.Sms).Allowed, Is.True);
            Assert.That(policy.Check("+447400123456", CodeChannel.Call).Refusal, Is.EqualTo(DestinationRefusal.Country));
            Assert.That(policy.Check("+33612345678", CodeChannel.Sms).Refusal, Is.EqualTo(DestinationRefusal.Country));
            Assert.That(policy.Check("+13035550123", CodeChannel.Call).Allowed, Is.True);
            Assert.That(policy.CountriesFor(CodeChannel.Sms), Is.EqualTo(new[] { "GB", "US" }));
        });
    }

    [Test]
    public void The_number_type_filter_applies_before_the_country_list()
    {
        var policy = DestinationPolicy.Create(null, ["GB"], ["GB"]);

        Assert.That(policy.Check("+449012345678", CodeChannel.Sms).Refusal, Is.EqualTo(DestinationRefusal.NumberType));
    }

    [Test]
    public void Number_types_can_be_narrowed_to_mobile_only()
    {
        var policy = DestinationPolicy.Create(["mobile"], null, null);

        Assert.That(policy.Check("+447400123456", CodeChannel.Sms).Allowed, Is.True);
        Assert.That(policy.Check("+442079460123", CodeChannel.Call).Refusal, Is.EqualTo(DestinationRefusal.NumberType));
        Assert.That(policy.NumberTypes, Is.EqualTo(new[] { "MOBILE" }));
    }

    [Test]
    public void Unknown_types_and_countries_are_refused_in_one_line_naming_each()
    {
        var error = Assert.Throws<ArgumentException>(() => DestinationPolicy.Create(["MOBILE", "MOBLE"], ["US", "XX", "001"], ["UK"]))!;

        Assert.That(error.Message, Does.Not.Contain("\n"));
        Assert.That(error.Message, Does.Contain("'MOBLE'").And.Contain("'XX'").And.Contain("'001'").And.Contain("Call: 'UK'"));
    }

    [Test]
    public void Empty_configuration_means_the_defaults()
    {
        var policy = DestinationPolicy.Create([" "], [], null);

        Assert.That(policy.NumberTypes, Is.EquivalentTo(DestinationPolicy.DefaultNumberTypes));
        Assert.That(policy.CountriesFor(CodeChannel.Sms), Is.Empty);
    }
}
