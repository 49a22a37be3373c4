using System.Net;
using System.Text.Json;
using AuthService.Api.Events;
using AuthService.Api.Storage;
using AuthService.Api.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StandardWebhooks;

namespace AuthService.Tests.Webhooks;

/// <summary>Signing against the Standard Webhooks specification's published example, the SSRF address table, the
/// backoff schedule and what an event may carry. No database.</summary>
public class WebhookSigningTests
{
    // The example of the specification (standard-webhooks/standard-webhooks, spec/standard-webhooks.md and its libraries' tests).
    private const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long SpecTimestamp = 1614265330;
    private const string SpecBody = "{\"test\": 2432232314}";
    private const string SpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    [Test]
    public void The_package_signs_the_specifications_example_as_published()
    {
        var signature = new StandardWebhook(SpecSecret).Sign(SpecId, DateTimeOffset.FromUnixTimeSeconds(SpecTimestamp), SpecBody);
        Assert.That(signature, Is.EqualTo(SpecSignature));
    }

    [Test]
    public void The_independent_verifier_accepts_the_example_and_refuses_any_change()
    {
        Assert.Multiple(() =>
        {
            Assert.That(IndependentVerifier.Verify(SpecSecret, SpecId, SpecTimestamp.ToString(), SpecBody, SpecSignature), Is.True);
            Assert.That(IndependentVerifier.Verify(SpecSecret, SpecId, SpecTimestamp.ToString(), SpecBody, "v1,bogus " + SpecSignature), Is.True,
                "several space-separated signatures (key rotation on the sender's side)");
            Assert.That(IndependentVerifier.Verify(SpecSecret, SpecId, (SpecTimestamp + 1).ToString(), SpecBody, SpecSignature), Is.False);
            Assert.That(IndependentVerifier.Verify(SpecSecret, SpecId, SpecTimestamp.ToString(), SpecBody + " ", SpecSignature), Is.False);
            Assert.That(IndependentVerifier.Verify(SpecSecret, "msg_other", SpecTimestamp.ToString(), SpecBody, SpecSignature), Is.False);
        });
    }

    [Test]
    public void Secrets_are_standard_webhooks_secrets_of_32_random_bytes()
    {
        var a = RegisterWebhook.NewSecret();
        Assert.That(a, Does.StartWith("whsec_"));
        Assert.That(Convert.FromBase64String(a[6..]), Has.Length.EqualTo(32));
        Assert.That(RegisterWebhook.NewSecret(), Is.Not.EqualTo(a));
    }

    [TestCase("127.0.0.1", false)]
    [TestCase("127.255.0.1", false)]
    [TestCase("10.1.2.3", false)]
    [TestCase("172.16.0.1", false)]
    [TestCase("172.31.255.255", false)]
    [TestCase("192.168.1.1", false)]
    [TestCase("169.254.169.254", false)]
    [TestCase("100.64.0.1", false)]
    [TestCase("0.0.0.0", false)]
    [TestCase("224.0.0.1", false)]
    [TestCase("255.255.255.255", false)]
    [TestCase("::1", false)]
    [TestCase("::", false)]
    [TestCase("fe80::1", false)]
    [TestCase("fd00::1", false)]
    [TestCase("::ffff:127.0.0.1", false)]
    [TestCase("::ffff:10.0.0.1", false)]
    [TestCase("64:ff9b::a00:1", false)]
    [TestCase("ff02::1", false)]
    [TestCase("8.8.8.8", true)]
    [TestCase("172.32.0.1", true)]
    [TestCase("100.128.0.1", true)]
    [TestCase("2606:4700:4700::1111", true)]
    [TestCase("::ffff:8.8.8.8", true)]
    // 6to4 (2002::/16) and Teredo (2001::/32) reach whatever IPv4 address a relay maps them to: refused whatever they
    // embed, a public IPv4 address included.
    [TestCase("2002:c0a8:101::1", false)]                       // 6to4 of 192.168.1.1
    [TestCase("2002:a9fe:a9fe::1", false)]                      // 6to4 of 169.254.169.254
    [TestCase("2002:808:808::1", false)]                        // 6to4 of 8.8.8.8
    [TestCase("2001:0:4136:e378:8000:63bf:3fff:fdd2", false)]   // Teredo, client 192.0.2.45 via server 65.54.227.120
    [TestCase("2001:0:4136:e378:8000:63bf:80ff:fefe", false)]   // Teredo, client 127.0.1.1
    [TestCase("2001::1", false)]
    [TestCase("64:ff9b:1::a00:1", false)]                       // RFC 8215 local-use NAT64
    [TestCase("100::1", false)]                                 // RFC 6666 discard-only
    [TestCase("192.88.99.1", false)]                            // the deprecated 6to4 relay anycast
    [TestCase("2001:4860:4860::8888", true)]                    // 2001:4860::/32 is not Teredo
    [TestCase("2001:1::8888", true)]                            // nor is 2001:1::/32
    [TestCase("2003:de:2016::1", true)]
    // Only global unicast (2000::/3) less its non-public ranges: the rest of the space was public by default.
    [TestCase("2001:2::1", false)]                              // benchmarking, RFC 5180
    [TestCase("3fff::1", false)]                                // documentation, RFC 9637
    [TestCase("5f00::1", false)]                                // SRv6 segment ids, RFC 9602
    [TestCase("100:0:0:1::1", false)]                           // dummy prefix, RFC 9780
    [TestCase("2001:10::1", false)]                             // ORCHID (deprecated)
    [TestCase("4000::1", false)]                                // unassigned
    [TestCase("e000::1", false)]
    [TestCase("fe00::1", false)]
    [TestCase("2001:20::1", true)]                              // ORCHIDv2, globally reachable
    [TestCase("3fff:1000::1", true)]                            // just past 3fff::/20
    public void Only_public_unicast_addresses_are_public(string address, bool expected) =>
        Assert.That(WebhookUrlGuard.IsPublic(IPAddress.Parse(address)), Is.EqualTo(expected));

    [TestCase("https://[2002:c0a8:101::1]/hooks", "6to4", "192.168.1.1")]
    [TestCase("https://[2002:808:808::1]/hooks", "6to4", "8.8.8.8")]
    [TestCase("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hooks", "Teredo", "192.0.2.45")]
    [TestCase("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hooks", "Teredo", "65.54.227.120")]
    public async Task A_refused_6to4_or_teredo_url_names_the_ipv4_address_it_embeds(string url, string kind, string embedded)
    {
        var guard = new WebhookUrlGuard(allowInsecure: false, allowPrivateNetworks: false);
        Assert.That(await guard.CheckUrlAsync(url, default), Does.Contain(kind).And.Contain(embedded));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_host_name_longer_than_dns_allows_is_refused_not_resolved(bool allowPrivateNetworks)
    {
        // Four labels of 63 characters: each is a valid label, the name (259 characters) is not a DNS name.
        var label = new string('a', 63);
        var guard = new WebhookUrlGuard(allowInsecure: false, allowPrivateNetworks);
        Assert.That(await guard.CheckUrlAsync($"https://{label}.{label}.{label}.{label}.com/hooks", default), Does.Contain("at most 253 characters"));
        var longest = $"{label}.{label}.{label}.{new string('a', 57)}.com";
        Assert.That(longest, Has.Length.EqualTo(253));
        if (allowPrivateNetworks)
        {
            Assert.That(await guard.CheckUrlAsync($"https://{longest}/hooks", default), Is.Null); // (no lookup: nothing else to refuse)
        }
    }

    [Test]
    public void Backoff_doubles_with_jitter_up_to_the_cap()
    {
        var first = TimeSpan.FromSeconds(5);
        var max = TimeSpan.FromHours(1);
        Assert.Multiple(() =>
        {
            Assert.That(WebhookBackoff.Delay(1, first, max, 0.5), Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(WebhookBackoff.Delay(2, first, max, 0.5), Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(WebhookBackoff.Delay(4, first, max, 0.0), Is.EqualTo(TimeSpan.FromSeconds(32)));
            Assert.That(WebhookBackoff.Delay(4, first, max, 1.0), Is.EqualTo(TimeSpan.FromSeconds(48)));
            Assert.That(WebhookBackoff.Delay(40, first, max, 0.5), Is.EqualTo(max));
        });
    }

    [Test]
    public void An_event_carries_only_its_listed_fields()
    {
        var events = WebhookEvents.FromAudit(new AuditEvent.EnrollmentConfirmed("phone", "+1******0123", "sms", 10), "ann", null,
            DateTimeOffset.UnixEpoch);
        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(events[0].Body, Is.EqualTo(
            """{"type":"two_factor.enabled","timestamp":"1970-01-01T00:00:00.000Z","data":{"userId":"ann","method":"phone","phoneNumber":"\u002B1******0123","channel":"sms","backupCodesRemaining":10}}"""),
            "JSON-escaped as System.Text.Json does by default; receivers parse it");
        Assert.That(WebhookEvents.FromAudit(new AuditEvent.VerificationFailed("totp", "login", "invalid_code"), "ann", null, DateTimeOffset.UnixEpoch),
            Is.Empty);
        Assert.That(WebhookEvents.FromAudit(new AuditEvent.CodeSent("sms", "login", "+1******0123", "telnyx", null, true), "ann", null,
            DateTimeOffset.UnixEpoch), Is.Empty);
    }

    [Test]
    public void An_event_about_a_factor_carries_its_id_and_only_when_known()
    {
        var factor = Guid.Parse("0190a000-0000-7000-8000-000000000001");
        var key = Guid.Parse("0190a000-0000-7000-8000-0000000000aa");
        Assert.Multiple(() =>
        {
            Assert.That(Data(new AuditEvent.EnrollmentConfirmed("totp", null, null, 10, factor)),
                Is.EqualTo($$"""{"userId":"ann","method":"totp","backupCodesRemaining":10,"factorId":"{{factor}}"}"""));
            Assert.That(Data(new AuditEvent.EnrollmentConfirmed("totp", null, null, 10)),
                Is.EqualTo("""{"userId":"ann","method":"totp","backupCodesRemaining":10}"""), "no factorId while the caller has none");
            Assert.That(Data(new AuditEvent.Locked(5), key),
                Is.EqualTo($$"""{"userId":"ann","consecutiveFailures":5,"actingKeyId":"{{key}}"}"""), "the user's lockout names no factor");
            Assert.That(Data(new AuditEvent.MethodSwitched("totp", "passkey", null, null, factor)),
                Is.EqualTo($$"""{"userId":"ann","from":"totp","method":"passkey","factorId":"{{factor}}"}"""));
            Assert.That(Data(new AuditEvent.FactorAdded(factor, "totp", "Work phone")),
                Is.EqualTo($$"""{"userId":"ann","factorId":"{{factor}}","method":"totp","label":"Work phone"}"""));
            Assert.That(Data(new AuditEvent.FactorAdded(factor, "passkey")),
                Is.EqualTo($$"""{"userId":"ann","factorId":"{{factor}}","method":"passkey"}"""));
            Assert.That(Data(new AuditEvent.FactorRemoved(factor, "phone")),
                Is.EqualTo($$"""{"userId":"ann","factorId":"{{factor}}","method":"phone"}"""));
        });
        Assert.That(WebhookEvents.FromAudit(new AuditEvent.FactorAdded(factor, "totp"), "ann", null, DateTimeOffset.UnixEpoch)[0].Type,
            Is.EqualTo(WebhookEvents.FactorAdded));
        Assert.That(WebhookEvents.FromAudit(new AuditEvent.FactorRemoved(factor, "totp"), "ann", null, DateTimeOffset.UnixEpoch)[0].Type,
            Is.EqualTo(WebhookEvents.FactorRemoved));
        Assert.That(WebhookEvents.All, Does.Contain("two_factor.factor_added").And.Contain("two_factor.factor_removed"));

        static string Data(AuditEvent audit, Guid? actingKey = null) =>
            JsonDocument.Parse(WebhookEvents.FromAudit(audit, "ann", actingKey, DateTimeOffset.UnixEpoch).Single().Body).RootElement
                .GetProperty("data").GetRawText();
    }

    [Test]
    public void A_backup_code_use_that_leaves_few_also_says_so()
    {
        var events = WebhookEvents.FromAudit(new AuditEvent.BackupCodeUsed("backup_code", "login", WebhookEvents.LowBackupCodes), "ann", null,
            DateTimeOffset.UnixEpoch);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { WebhookEvents.BackupCodeUsed, WebhookEvents.BackupCodesLow }));
        Assert.That(WebhookEvents.FromAudit(new AuditEvent.BackupCodeUsed("backup_code", "login", WebhookEvents.LowBackupCodes + 1), "ann", null,
            DateTimeOffset.UnixEpoch), Has.Count.EqualTo(1));
    }

    [TestCase("Production", null, null, false, false)]
    [TestCase("Production", "true", "true", true, true)]
    [TestCase("Development", null, null, true, true)]
    [TestCase("Development", "false", "false", false, false)]
    [TestCase("Staging", null, null, false, false)]
    [TestCase("prod", null, null, false, false)]
    [TestCase("Staging", "true", "true", true, true)]
    public async Task Insecure_and_private_urls_are_refused_outside_development_unless_allowed(string environment, string? insecure, string? privateNetworks,
        bool httpAllowed, bool loopbackAllowed)
    {
        var services = new ServiceCollection();
        var settings = new Dictionary<string, string?> { ["Webhooks:AllowInsecure"] = insecure, ["Webhooks:AllowPrivateNetworks"] = privateNetworks };
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddWebhooks(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = environment });
        var guard = services.BuildServiceProvider().GetRequiredService<WebhookUrlGuard>();
        await Assert.MultipleAsync(async () =>
        {
            Assert.That(await guard.CheckUrlAsync("http://portal.example.com/hooks", default) is null, Is.EqualTo(httpAllowed));
            Assert.That(await guard.CheckUrlAsync("https://127.0.0.1/hooks", default) is null, Is.EqualTo(loopbackAllowed));
            Assert.That(await guard.CheckUrlAsync("https://[::1]/hooks", default) is null, Is.EqualTo(loopbackAllowed));
            Assert.That(await guard.CheckUrlAsync("https://10.0.0.7/hooks", default) is null, Is.EqualTo(loopbackAllowed));
            Assert.That(await guard.CheckUrlAsync("https://169.254.169.254/latest/meta-data", default) is null, Is.EqualTo(loopbackAllowed));
            Assert.That(await guard.CheckUrlAsync("https://localhost:8443/hooks", default) is null, Is.EqualTo(loopbackAllowed));
            Assert.That(await guard.CheckUrlAsync("https://93.184.215.14/hooks", default), Is.Null);
            Assert.That(await guard.CheckUrlAsync("ftp://portal.example.com/", default), Is.Not.Null);
            Assert.That(await guard.CheckUrlAsync("https://user:pw@portal.example.com/", default), Is.Not.Null);
            Assert.That(await guard.CheckUrlAsync("/relative", default), Is.Not.Null);
        });
    }
}
