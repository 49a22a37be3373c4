using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.NumberLookup;
using AuthService.Tests.Webhooks;
using OtpNet;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace AuthService.Tests.Security;

/// <summary>The lifecycle of <see cref="LifecycleSecrecyTests"/> and more (number lookup on, passkey options, wrong codes, a
/// Telnyx 500 that quotes the request back in other spellings of the number) on a Production process whose Serilog levels an
/// operator lowered to Verbose everywhere they can be lowered (Default, Microsoft, System, Npgsql, Polly, and the more specific
/// categories under the three fixed at Warning, which OPERATIONS.md says "can still be set"). Every log line and every response
/// body is searched for every secret of the flow: codes (also spoken), the TOTP secret in its encodings, backup and bypass
/// codes, API keys, the device token, the webhook secret, the passkey challenge, and the numbers in any spelling.</summary>
[Category("MultiProcess")]
public class VerboseLogSecrecyTests
{
    private static readonly string[] VerboseCategories =
    [
        "Microsoft", "System", "Npgsql", "Polly", "AuthService", "Serilog",
        // More specific than the fixed Microsoft.AspNetCore / Microsoft.Extensions.Http / System.Net.Http (OPERATIONS.md).
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http", "Microsoft.AspNetCore.Authentication", "Microsoft.AspNetCore.Authorization",
        "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.HttpLogging", "Microsoft.AspNetCore.Mvc",
        "System.Net.Http.HttpClient", "Microsoft.Extensions.Http.DefaultHttpClientFactory", "Microsoft.Extensions.Http.Resilience",
        "Microsoft.Extensions.Http.Logging",
    ];

    public static Dictionary<string, string?> VerboseLogging(IEnumerable<string> categories)
    {
        var settings = new Dictionary<string, string?> { ["Serilog__MinimumLevel__Default"] = "Verbose" };
        foreach (var category in categories)
            settings[$"Serilog__MinimumLevel__Override__{category}"] = "Verbose";
        return settings;
    }

    [TestCase(false, TestName = "Verbose_documented_knobs_only")]
    [TestCase(true, TestName = "Verbose_including_subcategories_of_the_fixed_ones")]
    public async Task No_secret_is_in_a_verbose_log_or_in_more_than_one_response(bool subcategories)
    {
        using var telnyx = new TelnyxStandIn();
        await using var receiver = await WebhookReceiver.StartAsync();
        var connectionString = TestDatabase.CreateDatabase("verboselog");
        var settings = new Dictionary<string, string?>
        {
            ["Telephony__Telnyx__Resilience__AttemptTimeout"] = "00:00:05",
            ["Telephony__Telnyx__Resilience__TotalTimeout"] = "00:00:10",
            ["Webhooks__AllowInsecure"] = "true",
            ["Webhooks__AllowPrivateNetworks"] = "true",
            ["Webhooks__PollInterval"] = "00:00:00.200",
            ["NumberLookup__Enabled"] = "true",
            ["Passkeys__RelyingPartyId"] = "portal.example.com",
            ["Passkeys__RelyingPartyName"] = "Example Portal",
            ["Passkeys__Origins__0"] = "https://portal.example.com",
        };
        foreach (var (k, v) in VerboseLogging(subcategories ? VerboseCategories : VerboseCategories.Take(6)))
            settings[k] = v;
        await using var service = await Instances.StartAsync(Instances.Production(connectionString, telnyx, settings));
        using var admin = service.Client(Instances.AdminKey);
        var userId = AuthApp.NewUserId("vlog");
        var phone = PhoneFactorTests.NewPhone();
        var phone2 = PhoneFactorTests.NewPhone();
        var secrets = new List<string> { Instances.AdminKey, "KEY-standin", Instances.EncryptionKey, AuthApp.EncryptionKey };
        var codes = new List<string>();
        var backupCodes = new List<string>();
        var responses = new List<string>();
        var path = $"/v1/users/{userId}/two-factor";

        async Task<JsonElement> Ok(HttpResponseMessage response, HttpStatusCode expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            responses.Add(body + "\n" + response.Headers + response.Content.Headers);
            Assert.That(response.StatusCode, Is.EqualTo(expected), body);
            return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement;
        }

        foreach (var p in new[] { phone, phone2 })
        {
            NumberLookupStandIn.Answer(telnyx.Server, p, "mobile");
        }

        var portalKey = (await Ok(await admin.PostAsJsonAsync("/v1/api-keys", new { name = "portal", scopes = new[] { "verify", "manage" } }),
            HttpStatusCode.Created)).GetProperty("key").GetString()!;
        secrets.Add(portalKey);
        using var portal = service.Client(portalKey);

        // Webhook endpoint (secret shown once).
        var created = await Ok(await admin.PostAsJsonAsync("/v1/webhooks", new { url = receiver.Url, events = new[] { "*" } }), HttpStatusCode.Created);
        var webhookSecret = created.GetProperty("secret").GetString()!;
        receiver.Secret = webhookSecret;
        var webhookKey = webhookSecret["whsec_".Length..];
        secrets.AddRange([webhookSecret, webhookKey, Convert.ToHexString(Convert.FromBase64String(webhookKey))]);

        // A wrong API key and a request with an API key in the query string (a client's mistake), and an X-Api-Key header.
        using (var wrong = service.Client("ask_wrong_key_for_the_log_audit_0123456789"))
        {
            await Ok(await wrong.GetAsync($"{path}"), HttpStatusCode.Unauthorized);
        }
        secrets.Add("ask_wrong_key_for_the_log_audit_0123456789");

        // TOTP: enroll, a wrong confirm, confirm, verify, wrong verify, backup code.
        var enrolled = await Ok(await portal.PostAsJsonAsync($"{path}/enroll", new { method = "totp", accountName = "ann@example.com" }), HttpStatusCode.Created);
        var secretText = enrolled.GetProperty("secret").GetString()!;
        var otpauth = enrolled.GetProperty("otpauthUri").GetString()!;
        var secret = Base32Encoding.ToBytes(secretText);
        secrets.Add(otpauth);
        await Ok(await portal.PostAsJsonAsync($"{path}/enroll/confirm", new { code = "000000" }), HttpStatusCode.UnprocessableEntity);
        var moment = await Instances.SafeTotpMomentAsync();
        codes.Add(ReferenceTotp.Code(secret, moment));
        var confirmed = await Ok(await portal.PostAsJsonAsync($"{path}/enroll/confirm", new { code = codes[^1] }), HttpStatusCode.OK);
        backupCodes.AddRange(confirmed.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!));
        codes.Add(ReferenceTotp.Code(secret, moment.AddSeconds(30)));
        await Ok(await Flows.VerifyAsync(portal, userId, new { code = codes[^1] }), HttpStatusCode.OK);
        await Ok(await Flows.VerifyAsync(portal, userId, new { code = codes[^1] }), HttpStatusCode.UnprocessableEntity); // replay
        await Ok(await Flows.VerifyAsync(portal, userId, new { backupCode = backupCodes[0] }), HttpStatusCode.OK);
        await Ok(await Flows.VerifyAsync(portal, userId, new { backupCode = backupCodes[0] }), HttpStatusCode.UnprocessableEntity); // used
        // A code of the wrong JSON type and an unknown field holding a secret-like value.
        await Ok(await portal.PostAsync($"{path}/verify", new StringContent("{\"code\": 987654321012}", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        secrets.Add("987654321012");

        // Remembered device + login decision.
        var remembered = await Ok(await Flows.VerifyAsync(portal, userId, new { backupCode = backupCodes[3], rememberDevice = new { label = "Chrome on macOS" } }),
            HttpStatusCode.OK);
        var deviceToken = remembered.GetProperty("deviceToken").GetString()!;
        secrets.Add(deviceToken["dvt_".Length..]);
        await Ok(await portal.PostAsJsonAsync("/v1/login-decisions", new { userId, loginMethod = "password", deviceToken }), HttpStatusCode.OK);
        await Ok(await portal.PostAsJsonAsync("/v1/login-decisions", new { userId, loginMethod = "password", deviceToken = deviceToken[..^2] + "xx" }), HttpStatusCode.OK);

        // Switch to phone via SMS (number lookup on), wrong confirm, confirm.
        await Ok(await portal.PostAsJsonAsync($"{path}/switch-method",
            new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { backupCode = backupCodes[1] } }), HttpStatusCode.Accepted);
        codes.Add(telnyx.LastCodeTo(phone));
        await Ok(await portal.PostAsJsonAsync($"{path}/switch-method/confirm", new { code = codes[^1] == "111111" ? "222222" : "111111" }), HttpStatusCode.UnprocessableEntity);
        await Ok(await portal.PostAsJsonAsync($"{path}/switch-method/confirm", new { code = codes[^1] }), HttpStatusCode.OK);

        // Challenges by SMS and call; verify.
        await Ok(await portal.PostAsJsonAsync($"{path}/challenge", new { channel = "sms" }), HttpStatusCode.Accepted);
        codes.Add(telnyx.LastCodeTo(phone));
        await Ok(await portal.PostAsJsonAsync($"{path}/challenge", new { channel = "call" }), HttpStatusCode.Accepted);
        codes.Add(telnyx.LastCodeTo(phone));
        await Ok(await Flows.VerifyAsync(portal, userId, new { code = codes[^1] }), HttpStatusCode.OK);

        // Telnyx answers 500 and quotes the request back (number and text), in the forms a provider may use.
        telnyx.Server.Reset();
        telnyx.Server.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            var json = JsonDocument.Parse(request.Body!).RootElement;
            var to = json.TryGetProperty("to", out var t) ? t.GetString()! : json.GetProperty("To").GetString()!;
            var text = json.TryGetProperty("text", out var x) ? x.GetString()! : json.GetProperty("Texml").GetString()!;
            var national = to[2..];
            var formatted = $"+1 ({national[..3]}) {national[3..6]}-{national[6..]}";
            var detail = $"to {to} / {national} / {formatted} / {to.Replace("+", "%2B")} rejected; body was: {text}";
            var body = JsonSerializer.Serialize(new { errors = new[] { new { code = "10011", title = $"Bad request to {to}", detail } } });
            return new WireMock.ResponseMessage
            {
                StatusCode = 500,
                Headers = new Dictionary<string, WireMock.Types.WireMockList<string>> { ["Content-Type"] = new("application/json") },
                BodyData = new WireMock.Util.BodyData { BodyAsString = body, DetectedBodyType = WireMock.Types.BodyType.String },
            };
        }));
        foreach (var p in new[] { phone, phone2 })
        {
            NumberLookupStandIn.Answer(telnyx.Server, p, "mobile");
        }
        var failed = await Ok(await portal.PostAsJsonAsync($"{path}/challenge", new { channel = "sms" }), HttpStatusCode.BadGateway);
        var failedCall = await Ok(await portal.PostAsJsonAsync($"{path}/challenge", new { channel = "call" }), HttpStatusCode.BadGateway);
        telnyx.Server.Reset();
        telnyx.Succeed();
        foreach (var p in new[] { phone, phone2 })
        {
            NumberLookupStandIn.Answer(telnyx.Server, p, "mobile");
        }

        // A number lookup that fails (502 at the lookup) for a second number: adding it by switch.
        NumberLookupStandIn.Fail(telnyx.Server, phone2, 500, overriding: true);
        var lookupFail = await portal.PostAsJsonAsync($"{path}/switch-method",
            new { method = "phone", phoneNumber = phone2, channel = "sms", proof = new { backupCode = backupCodes[4] } });
        responses.Add(await lookupFail.Content.ReadAsStringAsync());
        TestContext.Out.WriteLine($"lookup failure answered {(int)lookupFail.StatusCode}");
        if (telnyx.DeliveriesTo(phone2).Count > 0)
            codes.Add(telnyx.LastCodeTo(phone2));

        // Bypass code issue + use.
        var bypass = (await Ok(await admin.PostAsJsonAsync($"{path}/bypass-codes", new { reason = "lost phone", ticket = "SUP-7" }), HttpStatusCode.Created))
            .GetProperty("code").GetString()!;
        await Ok(await Flows.VerifyAsync(portal, userId, new { bypassCode = bypass }), HttpStatusCode.OK);

        // Regenerate backup codes.
        var regenerated = await Ok(await portal.PostAsJsonAsync($"{path}/backup-codes", new { proof = new { backupCode = backupCodes[2] } }),
            HttpStatusCode.Created);
        backupCodes.AddRange(regenerated.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!));

        // Passkey enrollment options (a second user, enrolling its first factor).
        var passkeyUser = AuthApp.NewUserId("vlogpk");
        var pk = await Ok(await portal.PostAsJsonAsync($"/v1/users/{passkeyUser}/two-factor/enroll",
            new { method = "passkey", accountName = "bob@example.com", displayName = "Bob" }), HttpStatusCode.Created);
        var challenge = pk.GetProperty("options").GetProperty("challenge").GetString()!;
        secrets.Add(challenge);

        // An API key created (admin scope).
        var extra = await Ok(await admin.PostAsJsonAsync("/v1/api-keys", new { name = "temporary", scopes = new[] { "admin" } }), HttpStatusCode.Created);
        secrets.Add(extra.GetProperty("key").GetString()!);

        // Wait for the webhook deliveries of this user.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!WebhookTesting.For(receiver, userId).Any(r => r.Type == "two_factor.bypass_code_used") && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.That(WebhookTesting.For(receiver, userId).Select(r => r.SignatureValid), Has.All.True);

        var log = service.Output;

        secrets.Add(Base32Encoding.ToString(secret).TrimEnd('='));
        secrets.Add(secretText);
        secrets.Add(Convert.ToHexString(secret));
        secrets.Add(Convert.ToBase64String(secret));
        foreach (var p in new[] { phone, phone2 })
        {
            secrets.Add(p);
            secrets.Add(p.TrimStart('+'));
            secrets.Add(p[2..]); // national number
            secrets.Add(Uri.EscapeDataString(p));
            secrets.Add("\\u002B" + p[1..]);
            secrets.Add($"({p[2..5]}) {p[5..8]}-{p[8..]}");
        }
        foreach (var code in backupCodes.Append(bypass))
        {
            secrets.Add(code);
            secrets.Add(code.Replace("-", ""));
        }

        var lines = log.Split('\n');
        var findings = new List<string>();
        foreach (var value in secrets.Distinct())
        {
            foreach (var line in lines.Where(l => l.Contains(value, StringComparison.OrdinalIgnoreCase)))
                findings.Add($"SECRET {value} in log: {line}");
            var shown = responses.Count(r => r.Contains(value, StringComparison.OrdinalIgnoreCase));
            if (shown > 1)
                findings.Add($"SECRET {value} in {shown} responses");
        }
        foreach (var code in codes.Distinct())
        {
            var alone = new Regex($"(?<![0-9A-Za-z.]){code}(?![0-9A-Za-z])");
            foreach (var line in lines.Where(l => alone.IsMatch(l)))
                findings.Add($"CODE {code} in log: {line}");
            var spoken = string.Join(", ", code.ToCharArray());
            foreach (var line in lines.Where(l => l.Contains(spoken)))
                findings.Add($"SPOKEN CODE {code} in log: {line}");
            if (responses.Any(r => alone.IsMatch(r)))
                findings.Add($"CODE {code} in a response");
        }

        TestContext.Out.WriteLine($"{lines.Length} log lines, {secrets.Count} secrets, {codes.Count} codes; findings: {findings.Count}");
        foreach (var f in findings.Take(50))
            TestContext.Out.WriteLine(f.Length > 1500 ? f[..1500] : f);
        Assert.That(findings, Is.Empty);
    }
}
