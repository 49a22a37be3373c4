using System.Text.Json;
using AuthService.Api.NumberLookup;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Api.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.NumberLookup;

/// <summary>The number check's settings are validated at start with one clear message (issue 25), the policy's decisions, and
/// how Telnyx's answer is read.</summary>
public class NumberLookupSettingsTests
{
    private static NumberLookupSettings Read(bool telnyx, params (string Key, string Value)[] settings) =>
        NumberLookupSettings.FromConfiguration(
            new ConfigurationBuilder().AddInMemoryCollection(settings.ToDictionary(s => s.Key, s => (string?)s.Value)).Build(), telnyx);

    [Test]
    public void Defaults_are_on_with_Telnyx_off_with_the_log_sender_fail_open_seven_days_and_call_only()
    {
        var telnyx = Read(telnyx: true);
        Assert.That((telnyx.Enabled, telnyx.FailOpen, telnyx.Deployment), Is.EqualTo((true, true, new NumberRiskPolicy(VoipPolicy.CallOnly, 7))));
        Assert.That(Read(telnyx: false).Enabled, Is.False);
        Assert.That(telnyx.For("default"), Is.EqualTo(telnyx.Deployment));
    }

    [Test]
    public void A_profile_sets_its_own_voip_policy_and_port_window_within_the_deployment_default()
    {
        var settings = Read(true, ("NumberLookup:RecentPortDays", "14"), ("NumberLookup:FailMode", "Closed"),
            ("Profiles:Strict:VoipPolicy", "refuse"), ("Profiles:lenient:VoipPolicy", "Allow"), ("Profiles:lenient:RecentPortDays", "0"));

        Assert.That(settings.FailOpen, Is.False);
        Assert.That(settings.For("strict"), Is.EqualTo(new NumberRiskPolicy(VoipPolicy.Refuse, 14)));
        Assert.That(settings.For("lenient"), Is.EqualTo(new NumberRiskPolicy(VoipPolicy.Allow, 0)));
        Assert.That(settings.For("default"), Is.EqualTo(new NumberRiskPolicy(VoipPolicy.CallOnly, 14)));
    }

    [Test]
    public void Every_bad_value_is_named_in_one_message()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Read(false, ("NumberLookup:Enabled", "true"), ("NumberLookup:FailMode", "maybe"),
            ("NumberLookup:RecentPortDays", "-1"), ("Profiles:acme:VoipPolicy", "Block"), ("Profiles:acme:RecentPortDays", "999")))!;

        Assert.That(e.Message, Does.Contain("NumberLookup:Enabled is true but Telephony:Provider is 'log'"));
        Assert.That(e.Message, Does.Contain("NumberLookup:FailMode must be open or closed, not 'maybe'"));
        Assert.That(e.Message, Does.Contain("NumberLookup:RecentPortDays must be a whole number of days from 0 to 365, not '-1'"));
        Assert.That(e.Message, Does.Contain("Profiles:acme:VoipPolicy must be Refuse, CallOnly or Allow, not 'Block'"));
        Assert.That(e.Message, Does.Contain("Profiles:acme:RecentPortDays must be a whole number of days from 0 to 365, not '999'"));
        Assert.Throws<InvalidOperationException>(() => Read(true, ("NumberLookup:Enabled", "yes")));
    }

    [Test]
    public void A_bad_value_stops_the_service_at_start()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Telephony:Provider"] = "telnyx", ["Profiles:acme:VoipPolicy"] = "Sometimes",
        }).Build();

        var e = Assert.Throws<StartupException>(() => new ServiceCollection().AddNumberLookup(configuration, new ProductionEnvironment()))!;

        Assert.That(e.Message, Is.EqualTo("Profiles:acme:VoipPolicy must be Refuse, CallOnly or Allow, not 'Sometimes'."));
    }

    [TestCase(VoipPolicy.CallOnly, "sms", "voip")]
    [TestCase(VoipPolicy.CallOnly, "call", null)]
    [TestCase(VoipPolicy.Refuse, "call", "voip")]
    [TestCase(VoipPolicy.Allow, "sms", null)]
    public void Voip_numbers_follow_the_profile_policy(VoipPolicy voip, string channel, string? refusal)
    {
        var now = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        var answer = new CachedLookup("voip", null, now);

        Assert.That(NumberCheck.Refusal(new NumberRiskPolicy(voip, 7), answer, Channels.Parse(channel), now), Is.EqualTo(refusal));
    }

    /// <summary>Within the last N days: the move's day and the N − 1 after it. The refusal's detail says "codes go to it again
    /// N days after the move", and on that day (N days ago) they do.</summary>
    [TestCase(0, 7, "recent_port")]
    [TestCase(6, 7, "recent_port")]
    [TestCase(7, 7, null)]
    [TestCase(8, 7, null)]
    [TestCase(0, 1, "recent_port")]
    [TestCase(1, 1, null)]
    [TestCase(1, 0, null)]
    public void A_port_within_the_window_is_refused(int daysAgo, int window, string? refusal)
    {
        var now = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        var answer = new CachedLookup("mobile", DateOnly.FromDateTime(now.UtcDateTime).AddDays(-daysAgo), now);

        Assert.That(NumberCheck.Refusal(new NumberRiskPolicy(VoipPolicy.CallOnly, window), answer, CodeChannel.Sms, now), Is.EqualTo(refusal));
        if (refusal is not null)
        {
            Assert.That(NumberLookupProblems.Risk(refusal, CodeChannel.Sms, window).Detail,
                Does.Contain($"codes go to it again {window} days after the move"));
            var thatDay = now.AddDays(window - daysAgo);
            Assert.That(NumberCheck.Refusal(new NumberRiskPolicy(VoipPolicy.CallOnly, window), answer, CodeChannel.Sms, thatDay), Is.Null,
                "accepted on the day the refusal names");
        }
    }

    [TestCase("""{"data":{"carrier":{"type":"mobile"},"portability":{"line_type":"wireless","ported_status":"N","ported_date":""}}}""", "mobile", null)]
    [TestCase("""{"data":{"carrier":{"type":"fixed line"},"portability":{"line_type":"VoIP","ported_status":"Y","ported_date":"2017-10-20"}}}""", "voip", "2017-10-20")]
    [TestCase("""{"data":{"portability":{"ported_status":"Y"}}}""", "unknown", null)]
    public void Telnyx_answers_are_read_from_carrier_and_portability(string json, string lineType, string? portedAt)
    {
        var answer = TelnyxNumberLookup.Read(JsonDocument.Parse(json).RootElement);

        Assert.That(answer, Is.EqualTo(new LookupAnswer(lineType, portedAt is null ? null : DateOnly.Parse(portedAt, System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Test]
    public void An_answer_without_data_is_unreadable() =>
        Assert.Throws<InvalidOperationException>(() => TelnyxNumberLookup.Read(JsonDocument.Parse("""{"errors":[]}""").RootElement));

    private sealed class ProductionEnvironment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";
        public string ApplicationName { get; set; } = "AuthService.Tests";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
