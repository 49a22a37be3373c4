using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Operations;

/// <summary>Every operation of openapi.yaml while PostgreSQL stops answering (blackholed), then while it refuses connections:
/// each answer is 503 <c>database_unavailable</c> problem+json within a bound, never a 500 and never a hang
/// (DatabaseOutageTests load two routes; this covers the rest, the late ones included: passkeys, devices, bypass codes,
/// factors, webhooks, API keys, prompt skips). The requests of a phase go out together, so the test costs one connect and
/// command timeout per phase, not one per route.</summary>
[Category("MultiProcess")]
public class EveryRouteOutageTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(12);

    [Test]
    public async Task Every_route_answers_503_database_unavailable_when_the_database_is_gone()
    {
        var db = TestDatabase.CreateDatabase("everyroute");
        var server = new Npgsql.NpgsqlConnectionStringBuilder(db);
        var proxy = new BlackholeProxy(server.Host!, server.Port);
        var throughProxy = new Npgsql.NpgsqlConnectionStringBuilder(db)
        {
            Host = "127.0.0.1", Port = proxy.Port, Timeout = 2, CommandTimeout = 3,
        }.ConnectionString;
        using var app = new AuthApp(new Dictionary<string, string?> { ["Console:Enabled"] = "true", ["Passkeys:RelyingPartyId"] = "portal.example.com", ["Passkeys:RelyingPartyName"] = "P", ["Passkeys:Origins:0"] = "https://portal.example.com", ["Auth:ApiKeyCacheSeconds"] = "86400", ["Serilog:MinimumLevel:Default"] = "Fatal" }, connectionString: throughProxy);
        using var admin = app.AdminClient();
        // Seed while the database answers.
        var user = await Flows.EnableTotpAsync(app, admin);
        var u = user.UserId;
        var remembered = await Flows.VerifyAsync(admin, u, new { code = Flows.Code(user.Secret, app.Time.GetUtcNow()), rememberDevice = new { label = "x" } });
        var rememberedBody = await remembered.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(remembered.StatusCode, Is.EqualTo(HttpStatusCode.OK), rememberedBody.ToString());
        var token = rememberedBody.GetProperty("deviceToken").GetString();
        var devices = await (await admin.GetAsync($"/v1/users/{u}/two-factor/devices")).Content.ReadFromJsonAsync<JsonElement>();
        var deviceId = devices.GetProperty("devices")[0].GetProperty("id").GetString();
        var status = await (await admin.GetAsync($"/v1/users/{u}/two-factor")).Content.ReadFromJsonAsync<JsonElement>();
        var factorId = status.GetProperty("factors")[0].GetProperty("id").GetString();
        var key = await (await admin.PostAsJsonAsync("/v1/api-keys", new { name = "k", scopes = new[] { "verify" } })).Content.ReadFromJsonAsync<JsonElement>();
        var keyId = key.GetProperty("id").GetString();
        var hook = await admin.PostAsJsonAsync("/v1/webhooks", new { url = "https://example.com/hook", events = new[] { "*" } });
        var hookBody = await hook.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(hook.StatusCode, Is.EqualTo(HttpStatusCode.Created), hookBody.ToString());
        var hookId = hookBody.GetProperty("id").GetString();
        app.Time.Advance(TimeSpan.FromSeconds(30));
        var code = Flows.Code(user.Secret, app.Time.GetUtcNow());
        var fresh = AuthApp.NewUserId("fresh");
        var routes = new (string Name, HttpMethod Method, string Path, object? Body)[]
        {
            ("Keys_Create", HttpMethod.Post, "/v1/api-keys", new { name = "k2", scopes = new[] { "verify" } }),
            ("Keys_List", HttpMethod.Get, "/v1/api-keys", null),
            ("Keys_Get", HttpMethod.Get, $"/v1/api-keys/{keyId}", null),
            ("Keys_Revoke", HttpMethod.Delete, $"/v1/api-keys/{keyId}", null),
            ("LoginDecisions_Decide", HttpMethod.Post, "/v1/login-decisions", new { userId = u, loginMethod = "password" }),
            ("LoginDecisions_Decide+token", HttpMethod.Post, "/v1/login-decisions", new { userId = u, loginMethod = "password", deviceToken = token }),
            ("LoginDecisions_Skip", HttpMethod.Post, $"/v1/users/{fresh}/two-factor/prompt/skip", null),
            ("Devices_List", HttpMethod.Get, $"/v1/users/{u}/two-factor/devices", null),
            ("Devices_Revoke", HttpMethod.Delete, $"/v1/users/{u}/two-factor/devices/{deviceId}", null),
            ("Devices_RevokeAll", HttpMethod.Post, $"/v1/users/{u}/two-factor/devices/revoke-all", null),
            ("Support_Reset", HttpMethod.Post, $"/v1/users/{u}/two-factor/reset", new { reason = "r", ticket = "t" }),
            ("Support_IssueBypassCode", HttpMethod.Post, $"/v1/users/{u}/two-factor/bypass-codes", new { reason = "r", ticket = "t" }),
            ("Support_RevokeBypassCodes", HttpMethod.Delete, $"/v1/users/{u}/two-factor/bypass-codes", null),
            ("Support_Events", HttpMethod.Get, $"/v1/users/{u}/two-factor/events", null),
            ("TwoFactor_GetStatus", HttpMethod.Get, $"/v1/users/{u}/two-factor", null),
            ("TwoFactor_Enroll totp", HttpMethod.Post, $"/v1/users/{fresh}/two-factor/enroll", new { method = "totp" }),
            ("TwoFactor_Enroll phone", HttpMethod.Post, $"/v1/users/{fresh}/two-factor/enroll", new { method = "phone", phoneNumber = "+14155550123", channel = "sms" }),
            ("TwoFactor_Enroll passkey", HttpMethod.Post, $"/v1/users/{fresh}/two-factor/enroll", new { method = "passkey" }),
            ("TwoFactor_ConfirmEnrollment", HttpMethod.Post, $"/v1/users/{fresh}/two-factor/enroll/confirm", new { code = "123456" }),
            ("TwoFactor_Challenge", HttpMethod.Post, $"/v1/users/{u}/two-factor/challenge", new { channel = "sms" }),
            ("TwoFactor_Challenge passkey", HttpMethod.Post, $"/v1/users/{u}/two-factor/challenge", new { channel = "passkey" }),
            ("TwoFactor_Verify totp", HttpMethod.Post, $"/v1/users/{u}/two-factor/verify", new { code }),
            ("TwoFactor_Verify remember", HttpMethod.Post, $"/v1/users/{u}/two-factor/verify", new { code, rememberDevice = new { label = "y" } }),
            ("TwoFactor_Verify token", HttpMethod.Post, $"/v1/users/{u}/two-factor/verify", new { code, deviceToken = token }),
            ("TwoFactor_Verify backup", HttpMethod.Post, $"/v1/users/{u}/two-factor/verify", new { backupCode = user.BackupCodes[1] }),
            ("TwoFactor_Verify bypass", HttpMethod.Post, $"/v1/users/{u}/two-factor/verify", new { bypassCode = "123-456-789" }),
            ("TwoFactor_SwitchMethod", HttpMethod.Post, $"/v1/users/{u}/two-factor/switch-method", new { method = "totp", proof = new { code } }),
            ("TwoFactor_SwitchMethod phone", HttpMethod.Post, $"/v1/users/{u}/two-factor/switch-method", new { method = "phone", phoneNumber = "+14155550123", channel = "sms", proof = new { code } }),
            ("TwoFactor_ConfirmSwitch", HttpMethod.Post, $"/v1/users/{u}/two-factor/switch-method/confirm", new { code = "123456" }),
            ("TwoFactor_GetBackupCodes", HttpMethod.Get, $"/v1/users/{u}/two-factor/backup-codes", null),
            ("TwoFactor_RegenerateBackupCodes", HttpMethod.Post, $"/v1/users/{u}/two-factor/backup-codes", new { proof = new { code } }),
            ("TwoFactor_AddFactor", HttpMethod.Post, $"/v1/users/{u}/two-factor/factors", new { method = "totp", proof = new { code } }),
            ("TwoFactor_AddFactor phone", HttpMethod.Post, $"/v1/users/{u}/two-factor/factors", new { method = "phone", phoneNumber = "+14155550123", channel = "sms", proof = new { code } }),
            ("TwoFactor_ConfirmFactor", HttpMethod.Post, $"/v1/users/{u}/two-factor/factors/{Guid.NewGuid()}/confirm", new { code = "123456" }),
            ("TwoFactor_UpdateFactor", HttpMethod.Patch, $"/v1/users/{u}/two-factor/factors/{factorId}", new { label = "new" }),
            ("TwoFactor_RemoveFactor", HttpMethod.Delete, $"/v1/users/{u}/two-factor/factors/{factorId}", new { proof = new { backupCode = user.BackupCodes[2] } }),
            ("Webhooks_Create", HttpMethod.Post, "/v1/webhooks", new { url = "https://example.org/hook", events = new[] { "*" } }),
            ("Webhooks_List", HttpMethod.Get, "/v1/webhooks", null),
            ("Webhooks_Get", HttpMethod.Get, $"/v1/webhooks/{hookId}", null),
            ("Webhooks_Deliveries", HttpMethod.Get, $"/v1/webhooks/{hookId}/deliveries", null),
            ("Webhooks_Redeliver", HttpMethod.Post, $"/v1/webhooks/{hookId}/deliveries/1/redeliver", null),
            ("Webhooks_Delete", HttpMethod.Delete, $"/v1/webhooks/{hookId}", null),
        };

        var failures = new List<string>();
        foreach (var phase in new[] { "blackholed", "refused" })
        {
            if (phase == "blackholed")
            {
                proxy.Blackhole();
            }
            else
            {
                await proxy.DisposeAsync();
                Npgsql.NpgsqlConnection.ClearAllPools();
            }

            var lines = await Task.WhenAll(routes.Select(route => AskAsync(admin, phase, route)));
            foreach (var (line, ok) in lines)
            {
                TestContext.Out.WriteLine(line);
                if (!ok)
                {
                    failures.Add(line);
                }
            }
        }

        Assert.That(failures, Is.Empty);
    }

    /// <summary>One request of a phase: its line for the log, and whether it was a timely 503 database_unavailable problem.</summary>
    private static async Task<(string Line, bool Ok)> AskAsync(HttpClient client, string phase, (string Name, HttpMethod Method, string Path, object? Body) route)
    {
        using var request = new HttpRequestMessage(route.Method, route.Path);
        if (route.Body is not null)
        {
            request.Content = JsonContent.Create(route.Body);
        }

        var watch = Stopwatch.StartNew();
        try
        {
            using var cts = new CancellationTokenSource(Bound + TimeSpan.FromSeconds(10));
            using var response = await client.SendAsync(request, cts.Token);
            var text = await response.Content.ReadAsStringAsync(cts.Token);
            var media = response.Content.Headers.ContentType?.MediaType;
            var problemCode = media == "application/problem+json" && JsonDocument.Parse(text).RootElement.TryGetProperty("code", out var c)
                ? c.GetString()
                : null;
            var ok = response.StatusCode == HttpStatusCode.ServiceUnavailable && problemCode == "database_unavailable" && watch.Elapsed <= Bound;
            return ($"{phase} {route.Name}: {(int)response.StatusCode} {problemCode} {watch.ElapsedMilliseconds} ms" +
                (ok ? "" : " " + text[..Math.Min(300, text.Length)]), ok);
        }
        catch (Exception e)
        {
            return ($"{phase} {route.Name}: {e.GetType().Name} {e.Message} after {watch.ElapsedMilliseconds} ms", false);
        }
    }
}
