using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Webhooks;
using Npgsql;
using OtpNet;

namespace AuthService.Tests.Security;

/// <summary>One user through the whole lifecycle on a Production process (JSON logs), then the database dump and the
/// complete log are searched for every secret the API handed out or received: TOTP secret (base32, hex, base64), every
/// code, every backup code and support bypass code (with and without hyphens, upper case), every API key, the full phone
/// number, the webhook signing secret (whole, its base64 body, the key's bytes and the body's in hex) of an endpoint that
/// received the lifecycle's events.</summary>
[Category("MultiProcess")]
public class LifecycleSecrecyTests
{
    [Test]
    public async Task No_secret_of_a_whole_lifecycle_is_in_the_database_dump_or_the_log()
    {
        using var telnyx = new TelnyxStandIn();
        await using var receiver = await WebhookReceiver.StartAsync();
        var connectionString = TestDatabase.CreateDatabase("lifecycle");
        await using var service = await Instances.StartAsync(Instances.Production(connectionString, telnyx, new Dictionary<string, string?>
        {
            ["Telephony__Telnyx__Resilience__AttemptTimeout"] = "00:00:05",
            ["Telephony__Telnyx__Resilience__TotalTimeout"] = "00:00:10",
            // The receiver is a loopback http server.
            ["Webhooks__AllowInsecure"] = "true",
            ["Webhooks__AllowPrivateNetworks"] = "true",
            ["Webhooks__PollInterval"] = "00:00:00.200",
        }));
        using var admin = service.Client(Instances.AdminKey);
        var userId = AuthApp.NewUserId("life");
        var phone = PhoneFactorTests.NewPhone();
        var secrets = new List<string> { Instances.AdminKey };
        var codes = new List<string>();
        var backupCodes = new List<string>();
        var path = $"/v1/users/{userId}/two-factor";

        async Task<JsonElement> Ok(HttpResponseMessage response, HttpStatusCode expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.That(response.StatusCode, Is.EqualTo(expected), body);
            return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement;
        }

        var portalKey = (await Ok(await admin.PostAsJsonAsync("/v1/api-keys", new { name = "portal", scopes = new[] { "verify", "manage" } }),
            HttpStatusCode.Created)).GetProperty("key").GetString()!;
        secrets.Add(portalKey);
        using var portal = service.Client(portalKey);

        // A webhook endpoint: its signing secret is shown once, here, and signs every event of the lifecycle.
        var endpoint = await WebhookTesting.SubscribeAsync(admin, receiver);
        var webhookKey = endpoint.Secret["whsec_".Length..];
        secrets.AddRange([endpoint.Secret, webhookKey, webhookKey.TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            Convert.ToHexString(Convert.FromBase64String(webhookKey)), Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(webhookKey))]);

        // TOTP: enroll, confirm, verify, a backup code.
        var enrolled = await Ok(await portal.PostAsJsonAsync($"{path}/enroll", new { method = "totp", accountName = "ann@example.com" }), HttpStatusCode.Created);
        var secret = Base32Encoding.ToBytes(enrolled.GetProperty("secret").GetString()!);
        var moment = await Instances.SafeTotpMomentAsync();
        codes.Add(ReferenceTotp.Code(secret, moment));
        var confirmed = await Ok(await portal.PostAsJsonAsync($"{path}/enroll/confirm", new { code = codes[^1] }), HttpStatusCode.OK);
        backupCodes.AddRange(confirmed.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!));
        codes.Add(ReferenceTotp.Code(secret, moment.AddSeconds(30)));
        await Ok(await Flows.VerifyAsync(portal, userId, new { code = codes[^1] }), HttpStatusCode.OK);
        await Ok(await Flows.VerifyAsync(portal, userId, new { backupCode = backupCodes[0] }), HttpStatusCode.OK);
        await Ok(await Flows.VerifyAsync(portal, userId, new { code = "000000" }), HttpStatusCode.UnprocessableEntity);

        // A remembered browser (DESIGN §9.3): its token is shown once and presented at a login decision, and nowhere else.
        var remembered = await Ok(await Flows.VerifyAsync(portal, userId, new { backupCode = backupCodes[3], rememberDevice = new { label = "Chrome on macOS" } }),
            HttpStatusCode.OK);
        var deviceToken = remembered.GetProperty("deviceToken").GetString()!;
        secrets.Add(deviceToken["dvt_".Length..]);
        var decision = await Ok(await portal.PostAsJsonAsync("/v1/login-decisions", new { userId, loginMethod = "password", deviceToken }), HttpStatusCode.OK);
        Assert.That(decision.GetProperty("reason").GetString(), Is.EqualTo("trusted_device"));

        // Switch to phone (proof: a backup code), confirm with the SMS code.
        await Ok(await portal.PostAsJsonAsync($"{path}/switch-method",
            new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { backupCode = backupCodes[1].ToUpperInvariant() } }), HttpStatusCode.Accepted);
        codes.Add(telnyx.LastCodeTo(phone));
        await Ok(await portal.PostAsJsonAsync($"{path}/switch-method/confirm", new { code = codes[^1] }), HttpStatusCode.OK);

        // Login challenges by SMS and by call; verify with the latest.
        await Ok(await portal.PostAsJsonAsync($"{path}/challenge", new { channel = "sms" }), HttpStatusCode.Accepted);
        codes.Add(telnyx.LastCodeTo(phone));
        await Ok(await portal.PostAsJsonAsync($"{path}/challenge", new { channel = "call" }), HttpStatusCode.Accepted);
        codes.Add(telnyx.LastCodeTo(phone));
        // While the code is live: its row holds only the keyed hash (the dump at the end, after the reset, holds no code row).
        var liveDump = await PgDump.DumpAsync(connectionString);
        await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var live = new Npgsql.NpgsqlCommand("select count(*) from phone_codes where user_id = @userId", connection)
            {
                Parameters = { new("userId", userId) },
            };
            Assert.That(await live.ExecuteScalarAsync(), Is.EqualTo(1L), "the dump holds the live code's row it is checked for");
        }
        await Ok(await Flows.VerifyAsync(portal, userId, new { code = codes[^1] }), HttpStatusCode.OK);

        // A support bypass code (DESIGN §9.4): issued, shown once, used; a second one issued and left live for the dump.
        var bypassCodes = new List<string>();
        foreach (var ticket in new[] { "SUP-7", "SUP-8" })
        {
            bypassCodes.Add((await Ok(await admin.PostAsJsonAsync($"{path}/bypass-codes", new { reason = "lost phone", ticket }), HttpStatusCode.Created))
                .GetProperty("code").GetString()!);
        }

        await Ok(await Flows.VerifyAsync(portal, userId, new { bypassCode = bypassCodes[0] }), HttpStatusCode.OK);
        var bypassDump = await PgDump.DumpAsync(connectionString);
        Assert.That(bypassDump, Does.Contain("SUP-8"), "the dump holds the live bypass code's row it is checked for");

        // New backup codes (proof: an old one), an API key created and revoked, a support reset.
        var regenerated = await Ok(await portal.PostAsJsonAsync($"{path}/backup-codes", new { proof = new { backupCode = backupCodes[2].Replace("-", "") } }),
            HttpStatusCode.Created);
        backupCodes.AddRange(regenerated.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!));
        var extra = await Ok(await admin.PostAsJsonAsync("/v1/api-keys", new { name = "temporary", scopes = new[] { "admin" } }), HttpStatusCode.Created);
        secrets.Add(extra.GetProperty("key").GetString()!);
        await Ok(await admin.DeleteAsync($"/v1/api-keys/{extra.GetProperty("id").GetString()}"), HttpStatusCode.NoContent);
        await Ok(await admin.PostAsJsonAsync($"{path}/reset", new { reason = "lost phone", ticket = "T-42" }), HttpStatusCode.OK);

        // The dump and the log are taken once the lifecycle's last event was delivered, signed with the secret.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!WebhookTesting.For(receiver, userId).Any(r => r.Type == "two_factor.reset") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100); // waiting for the delivery, not for a clock
        }

        var delivered = WebhookTesting.For(receiver, userId);
        Assert.That(delivered.Select(r => r.Type), Does.Contain("two_factor.reset"), "the lifecycle's events reached the endpoint");
        Assert.That(delivered.Select(r => r.SignatureValid), Has.All.True, "signed with the secret searched for");

        var dump = await PgDump.DumpAsync(connectionString);
        var log = service.Output;
        Assert.That(dump, Does.Contain(userId), "the dump holds the data it is checked for");
        Assert.That(log, Does.Contain("\"@t\"").And.Contain(userId), "the log is the JSON log of this lifecycle");

        secrets.Add(Base32Encoding.ToString(secret).TrimEnd('='));
        secrets.Add(Convert.ToHexString(secret));
        secrets.Add(Convert.ToBase64String(secret));
        secrets.Add(Convert.ToBase64String(secret).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
        secrets.Add(phone);
        secrets.Add(phone.TrimStart('+'));
        foreach (var code in backupCodes.Concat(bypassCodes))
        {
            secrets.Add(code);
            secrets.Add(code.Replace("-", ""));
        }

        TestContext.Out.WriteLine($"searched {secrets.Count} secrets and {codes.Count} codes in a {dump.Length} character dump and a {log.Length} character log");
        Assert.Multiple(() =>
        {
            foreach (var value in secrets)
            {
                Assert.That(dump.Contains(value, StringComparison.OrdinalIgnoreCase), Is.False, $"{value[..4]}… in the dump");
                Assert.That(liveDump.Contains(value, StringComparison.OrdinalIgnoreCase), Is.False, $"{value[..4]}… in the dump of the live code");
                Assert.That(bypassDump.Contains(value, StringComparison.OrdinalIgnoreCase), Is.False, $"{value[..4]}… in the dump of the live bypass code");
                Assert.That(log.Contains(value, StringComparison.OrdinalIgnoreCase), Is.False, $"{value[..4]}… in the log");
            }

            // Six digits standing alone (not part of a longer number, id or timestamp: not after a '.', where a dump's
            // timestamps keep their microseconds, which equal one of the codes about one run in 2,000).
            foreach (var code in codes)
            {
                var alone = new Regex($"(?<![0-9A-Za-z.]){code}(?![0-9A-Za-z])");
                Assert.That(alone.IsMatch(dump), Is.False, $"code {code[..2]}…… in the dump");
                Assert.That(alone.IsMatch(liveDump), Is.False, $"code {code[..2]}…… in the dump of the live code");
                Assert.That(alone.IsMatch(log), Is.False, $"code {code[..2]}…… in the log");
            }
        });
    }
}
