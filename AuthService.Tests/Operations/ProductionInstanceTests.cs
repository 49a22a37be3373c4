using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Operations;

/// <summary>The built service as an operator runs it: a separate process in Production, configured only through
/// the environment variables of DESIGN §6. Enrollment is driven by an independent RFC 6238 implementation that
/// reads nothing but the QR code, as an authenticator app would.</summary>
[Category("Process")]
public class ProductionInstanceTests
{
    private const string AdminKey = "ask_prod_test_admin_key_abcdefghijklmnop";

    private static Dictionary<string, string?> ProductionEnvironment() => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        // Its own database: the key ring check refuses values sealed under the other tests' key.
        ["ConnectionStrings__Auth"] = TestDatabase.CreateDatabase("prod"),
        ["Encryption__ActiveKeyId"] = "prod1",
        ["Encryption__Keys__prod1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["Auth__BootstrapAdminKey"] = AdminKey,
        ["Auth__Issuer"] = "Acme Portal",
        ["Telephony__Provider"] = "telnyx",
        ["Telephony__Telnyx__BaseUrl"] = "http://127.0.0.1:9/v2",
        ["Telephony__Telnyx__ApiKey"] = "KEY-test",
        ["Telephony__Telnyx__FromNumber"] = "+13035550100",
    };

    /// <summary>DESIGN: timestamps are UTC, and the enforcement date is written as a date (<c>2023-08-07</c>). The binder read a
    /// value without an offset in the host's time zone, so prompts began hours early or late on a host not on UTC. The
    /// service runs here in a zone whose midnight of the configured date falls on the other side of now from UTC midnight,
    /// by an hour at least.</summary>
    [Test]
    public async Task An_enforcement_date_without_an_offset_is_utc_whatever_the_hosts_time_zone()
    {
        var now = DateTimeOffset.UtcNow;
        var (zone, date, prompted) = now.TimeOfDay < TimeSpan.FromHours(11)
            ? ("Etc/GMT+12", now.UtcDateTime.Date, true) // UTC−12: today began at 00:00 UTC, but not until 12:00 UTC there
            : ("Etc/GMT-14", now.UtcDateTime.Date.AddDays(1), false); // UTC+14: tomorrow begins at 00:00 UTC, there at 10:00 UTC today
        var environment = ProductionEnvironment();
        environment["TZ"] = zone;
        environment["Enforcement__StartsAt"] = date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        await using var service = ServiceProcess.Start(environment);
        Assert.That(await service.WaitReadyAsync(TimeSpan.FromSeconds(60)), Is.True, service.Output);
        using var client = service.Client(AdminKey);

        var response = await client.PostAsJsonAsync("/v1/login-decisions", new { userId = AuthApp.NewUserId("tz"), loginMethod = "password" });
        var decision = await response.Content.ReadFromJsonAsync<JsonElement>();

        // Started just before midnight UTC and answered after it, tomorrow's date has begun: both readings prompt then.
        Assume.That(prompted || DateTimeOffset.UtcNow.UtcDateTime < date, "the run crossed midnight UTC: inconclusive, not failed");
        Assert.That(decision.GetProperty("action").GetString(), Is.EqualTo(prompted ? "enroll_prompt" : "none"),
            $"Enforcement:StartsAt={date:yyyy-MM-dd} at {now:u} on a host in {zone}");
    }

    [Test]
    public async Task Independent_authenticator_enrolls_from_the_qr_code_and_logs_in()
    {
        await using var service = ServiceProcess.Start(ProductionEnvironment());
        Assert.That(await service.WaitReadyAsync(TimeSpan.FromSeconds(60)), Is.True, service.Output);
        using var client = service.Client(AdminKey);
        var userId = AuthApp.NewUserId("prod");

        var scanned = await EnrollFromTheQrCodeAsync(client, userId);
        Assert.That(scanned.Scheme, Is.EqualTo("otpauth"));
        Assert.That(Uri.UnescapeDataString(scanned.AbsolutePath), Is.EqualTo("/Acme Portal:ann@example.com"));
        var query = System.Web.HttpUtility.ParseQueryString(scanned.Query);
        Assert.That(query["issuer"], Is.EqualTo("Acme Portal"));
        var key = ReferenceTotp.Base32Decode(query["secret"]!);

        // The next period's code: accepted within the ±1 window, and a step never used before.
        var login = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/verify",
            new { code = ReferenceTotp.Code(key, DateTimeOffset.UtcNow.AddSeconds(30)) });
        var verified = await login.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK), verified.ToString());
        Assert.That(verified.GetProperty("driftSteps").GetInt32(), Is.InRange(0, 1));

        Assert.That(service.Output, Does.Not.Contain(query["secret"]!));
        Assert.That(service.Output, Does.Not.Contain(AdminKey));
        Assert.That(service.Output, Does.Contain("\"@t\""), "Production logs are JSON lines");
    }

    /// <summary>Enrolls <paramref name="userId"/> in TOTP from the QR code alone and confirms it with the current code: the
    /// otpauth URI the code showed.</summary>
    private static async Task<Uri> EnrollFromTheQrCodeAsync(HttpClient client, string userId)
    {
        var enroll = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "totp", accountName = "ann@example.com" });
        var body = await enroll.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var scanned = new Uri(QrDecoder.DecodePngDataUri(body.GetProperty("qrCodePng").GetString()!)!);
        var key = ReferenceTotp.Base32Decode(System.Web.HttpUtility.ParseQueryString(scanned.Query)["secret"]!);
        var confirm = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm",
            new { code = ReferenceTotp.Code(key, DateTimeOffset.UtcNow) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());
        return scanned;
    }

    /// <summary>A TOTP login is decided in a batch the service runs for many requests (ProofCheck), outside the request; the
    /// lockout that batch logs still carries the trace id of the request it locked, the one its problem reports, so an
    /// operator finds it from the problem as docs/OPERATIONS.md says.</summary>
    [Test]
    public async Task A_lockout_decided_in_a_login_batch_is_logged_with_the_trace_id_of_its_request()
    {
        var environment = ProductionEnvironment();
        environment["Limits__LockoutThreshold"] = "2";
        await using var service = ServiceProcess.Start(environment);
        Assert.That(await service.WaitReadyAsync(TimeSpan.FromSeconds(60)), Is.True, service.Output);
        using var client = service.Client(AdminKey);
        var userId = AuthApp.NewUserId("trace");
        var scanned = await EnrollFromTheQrCodeAsync(client, userId);
        var key = ReferenceTotp.Base32Decode(System.Web.HttpUtility.ParseQueryString(scanned.Query)["secret"]!);
        var valid = Enumerable.Range(-2, 5).Select(step => ReferenceTotp.Code(key, DateTimeOffset.UtcNow.AddSeconds(30 * step))).ToHashSet();
        var wrong = Enumerable.Range(0, 10).Select(n => $"{n}{n}{n}{n}{n}{n}").First(code => !valid.Contains(code));

        JsonElement problem = default;
        foreach (var expected in new[] { "invalid_code", "locked" })
        {
            var refused = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/verify", new { code = wrong });
            problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(problem.GetProperty("code").GetString(), Is.EqualTo(expected), problem.ToString());
        }

        var traceId = problem.GetProperty("traceId").GetString()!.Split('-')[1];
        var lockout = await service.WaitForLineAsync(line => line.Contains("Locked the second factor"), TimeSpan.FromSeconds(30));
        Assert.That(lockout, Is.Not.Null, service.Output);
        Assert.That(lockout, Does.Contain($"\"@tr\":\"{traceId}\""), "the lockout line names the request that locked the factor");
    }

    /// <summary>/metrics takes no key. Npgsql labels its pool metrics with the data source's name, which by default is the
    /// connection string less the password: host, database and user (and an SSL key's passphrase, a passfile's path) were
    /// there for anyone to read. A process of its own: in the test process every pool the harness opens is published too.</summary>
    [Test]
    public async Task Database_metrics_name_the_pool_not_the_connection_string()
    {
        var environment = ProductionEnvironment();
        var database = new Npgsql.NpgsqlConnectionStringBuilder(environment["ConnectionStrings__Auth"]).Database!;
        await using var service = ServiceProcess.Start(environment);
        Assert.That(await service.WaitReadyAsync(TimeSpan.FromSeconds(60)), Is.True, service.Output);
        using var client = service.Client(AdminKey);
        await EnrollFromTheQrCodeAsync(client, AuthApp.NewUserId("pool"));
        using var anonymous = service.Client();

        var metrics = await anonymous.GetStringAsync("/metrics");

        Assert.That(metrics, Does.Contain("db_client_connection_pool_name=\"authservice\""), "Npgsql's meter is published, under the pool's name");
        Assert.That(metrics, Does.Not.Contain("Host=").And.Not.Contain("Username=").And.Not.Contain(database));
    }

    [Test]
    public async Task Phone_user_journey_against_a_loopback_telnyx_enroll_sms_login_sms_and_call_switch_to_totp_and_back()
    {
        using var telnyx = new TelnyxStandIn();
        var environment = ProductionEnvironment();
        foreach (var (setting, value) in telnyx.Settings)
        {
            environment[setting.Replace(":", "__")] = value;
        }

        // Real clock here, so the real pipeline with production-like timeouts (a busy CI machine must not time out).
        environment["Telephony__Telnyx__Resilience__MaxRetryAttempts"] = "2";
        environment["Telephony__Telnyx__Resilience__AttemptTimeout"] = "00:00:05";
        environment["Telephony__Telnyx__Resilience__TotalTimeout"] = "00:00:15";
        await using var service = ServiceProcess.Start(environment);
        Assert.That(await service.WaitReadyAsync(TimeSpan.FromSeconds(60)), Is.True, service.Output);
        using var client = service.Client(AdminKey);
        var userId = AuthApp.NewUserId("journey");
        const string phone = "+13035550142";
        const string newPhone = "+13035550143";
        string Url(string path) => $"/v1/users/{userId}/two-factor{path}";

        // Enroll by SMS.
        var enroll = await client.PostAsJsonAsync(Url("/enroll"), new { method = "phone", phoneNumber = phone, channel = "sms" });
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync() + service.Output);
        var confirm = await client.PostAsJsonAsync(Url("/enroll/confirm"), new { code = telnyx.LastCodeTo(phone) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());

        // Log in by SMS, then by call.
        foreach (var channel in new[] { "sms", "call" })
        {
            (await client.PostAsJsonAsync(Url("/challenge"), new { channel })).EnsureSuccessStatusCode();
            Assert.That(telnyx.DeliveriesTo(phone)[^1].Channel, Is.EqualTo(channel));
            var login = await client.PostAsJsonAsync(Url("/verify"), new { code = telnyx.LastCodeTo(phone) });
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{channel}: {await login.Content.ReadAsStringAsync()}");
        }

        // Switch to TOTP (proof: a fresh SMS code of a proof challenge), confirm with the authenticator.
        (await client.PostAsJsonAsync(Url("/challenge"), new { channel = "sms", purpose = "proof" })).EnsureSuccessStatusCode();
        var toTotp = await client.PostAsJsonAsync(Url("/switch-method"), new { method = "totp", accountName = "ann@example.com", proof = new { code = telnyx.LastCodeTo(phone) } });
        var started = await toTotp.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(toTotp.StatusCode, Is.EqualTo(HttpStatusCode.Created), started.ToString());
        var key = ReferenceTotp.Base32Decode(started.GetProperty("secret").GetString()!);
        (await client.PostAsJsonAsync(Url("/switch-method/confirm"), new { code = ReferenceTotp.Code(key, DateTimeOffset.UtcNow) })).EnsureSuccessStatusCode();

        // And back to a phone (a new number, by call), proving the TOTP factor with the next step's code.
        var back = await client.PostAsJsonAsync(Url("/switch-method"),
            new { method = "phone", phoneNumber = newPhone, channel = "call", proof = new { code = ReferenceTotp.Code(key, DateTimeOffset.UtcNow.AddSeconds(30)) } });
        Assert.That(back.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await back.Content.ReadAsStringAsync());
        (await client.PostAsJsonAsync(Url("/switch-method/confirm"), new { code = telnyx.LastCodeTo(newPhone) })).EnsureSuccessStatusCode();

        var status = await client.GetFromJsonAsync<JsonElement>(Url(""));
        Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("phone"));
        Assert.That(status.GetProperty("phoneNumber").GetString(), Is.EqualTo("+1******0143"));
        Assert.That(service.Output, Does.Not.Contain(phone).And.Not.Contain(newPhone));
    }

    [TestCase("Encryption__Keys__prod1", "Encryption key missing")]
    [TestCase("ConnectionStrings__Auth", "Database not configured")]
    [TestCase("Telephony__Telnyx__ApiKey", "ApiKey is missing")]
    [TestCase("Auth__BootstrapAdminKey=CHANGE-ME-admin-key", "BootstrapAdminKey must be at least 32")]
    [TestCase("Limits__LockoutThreshold=500", "LockoutThreshold 1–100")]
    [TestCase("Encryption__Keys__prod1=c2hvcnQ=", "is 5 bytes")]
    [TestCase("Telephony__AllowedNumberTypes=MOBILE,MOBLE", "unknown number type 'MOBLE'")]
    [TestCase("Telephony__AllowedCountries__Call=US,XX", "Telephony:AllowedCountries:Call: 'XX' is not an ISO 3166")]
    [TestCase("Telephony__Caps__Mode=off", "Telephony:Caps:Mode must be 'enforce' or 'monitor'")]
    [TestCase("Telephony__Caps__Daily=0", "Telephony:Caps:Daily must be a whole number of at least 1")]
    [TestCase("Limits__UnconfirmedNumberDaily=-1", "Limits:UnconfirmedNumberDaily must be")]
    [TestCase("Database__Pooler=pgbouncr", "Database:Pooler must be `none` or `pgbouncer`")]
    [TestCase("Passkeys__RelyingPartyId=https://example.com", "Passkeys:RelyingPartyId 'https://example.com' must be a lowercase domain")]
    [TestCase("Profiles__acme__Length=9", "Profiles:acme:Length must be a whole number from 6 to 8")]
    [TestCase("Profiles__acme__Fallback=SmsThenCall", "Profiles:acme:Fallback SmsThenCall needs Telephony:Telnyx:WebhookPublicKey")]
    [TestCase("Profiles__acme__Fallback=SmsThenCall|Telephony__Telnyx__WebhookPublicKey=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        "Profiles:acme:Fallback SmsThenCall needs Telephony:Telnyx:AccountSid, :TexmlApplicationId and :FromNumber")]
    [TestCase("Telephony__Telnyx__WebhookPublicKey=c2hvcnQ=", "Telephony:Telnyx:WebhookPublicKey must be the base64 of a 32-byte Ed25519 public key")]
    // 32 bytes, but no point of the curve: it passed the start, then every Telnyx callback was a 500.
    [TestCase("Telephony__Telnyx__WebhookPublicKey=AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "Telephony:Telnyx:WebhookPublicKey must be the base64 of a 32-byte Ed25519 public key")]
    [TestCase("Devices__RememberDays=91", "Devices: RememberDays must be 1–90")]
    [TestCase("Devices__MaxPerUser=0", "MaxPerUser 1–1000")]
    [TestCase("Enforcement__MaxSkips=-1", "Enforcement: MaxSkips must be 0 or more")]
    [TestCase("Enforcement__MaxSkips=unlimited", "Enforcement:MaxSkips")]
    // Durations past what Polly or a delay takes: they passed the start, then failed the first request (500) or stopped webhooks.
    [TestCase("Telephony__Telnyx__Resilience__CircuitBreakDuration=2.00:00:00", "circuit settings are out of range")]
    [TestCase("Webhooks__Timeout=2.00:00:00", "Timeout from 10 ms to 1 day")]
    [TestCase("Health__ClockSamplePeriod=60", "ClockSamplePeriod from 1 s to 1 day")] // 60 days, as TimeSpan reads a bare number
    [TestCase("Totp__EnrollmentTtl=15", "EnrollmentTtl from 1 minute to 1 day")] // 15 days
    [TestCase("Totp__EnrollmentTtl=00:00:00", "EnrollmentTtl from 1 minute to 1 day")] // every enrollment expired as it started
    // An enum the binder took from a number: every TOTP enrollment failed with a 500.
    [TestCase("Totp__Algorithm=7", "Totp: Algorithm must be SHA1, SHA256 or SHA512, not 7")]
    [TestCase("Totp__Digits=4", "Totp: TOTP codes have 6 to 8 digits, not 4")]
    // Values that do not convert: an unhandled exception's stack trace before.
    [TestCase("Health__MaxClockSkew=2s", "Health:MaxClockSkew")]
    [TestCase("Auth__ApiKeyCacheSeconds=five", "Auth:ApiKeyCacheSeconds")]
    public async Task Production_refuses_to_start_with_one_clear_line(string setting, string message)
    {
        var environment = ProductionEnvironment();
        foreach (var part in setting.Split('|')) // several settings, for a rule that only a combination reaches
        {
            if (part.Split('=', 2) is [var key, var value])
            {
                environment[key] = value;
            }
            else
            {
                environment.Remove(part);
            }
        }

        await using var service = ServiceProcess.Start(environment);
        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.That(exitCode, Is.Not.Zero);
        var lines = service.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Length.EqualTo(1), service.Output);
        Assert.That(lines[0], Does.StartWith("AuthService cannot start:").And.Contain(message));
    }

    /// <summary>A database that answers and refuses (here: one that does not exist) is not an outage to wait out: one line that
    /// says what PostgreSQL said, not an unhandled exception's stack trace.</summary>
    [Test]
    public async Task A_database_that_refuses_the_service_stops_it_with_one_clear_line()
    {
        var environment = ProductionEnvironment();
        environment["ConnectionStrings__Auth"] = new Npgsql.NpgsqlConnectionStringBuilder(environment["ConnectionStrings__Auth"])
        {
            Database = "no_such_database",
        }.ConnectionString;

        await using var service = ServiceProcess.Start(environment);
        Assert.That(await service.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Not.Zero);
        var lines = service.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Length.EqualTo(1), service.Output);
        // Behind PgBouncer the pooler, not PostgreSQL, turns the connection away, and the service sees a broken stream: an
        // outage to it, waited out (Database:StartupWaitSeconds) and then named as one. One line either way.
        Assert.That(lines[0], Does.StartWith(TestDatabase.Pooler == "pgbouncer"
            ? "AuthService cannot start: Database unreachable"
            : "AuthService cannot start: PostgreSQL refused it (3D000"));
    }

    [Test]
    public async Task Production_refuses_to_start_when_the_database_is_unreachable()
    {
        var environment = ProductionEnvironment();
        environment["ConnectionStrings__Auth"] = "Host=127.0.0.1;Port=9;Username=postgres;Database=none;Timeout=1";
        environment["Database__StartupWaitSeconds"] = "1";

        await using var service = ServiceProcess.Start(environment);
        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(service.Output, Does.Contain("AuthService cannot start: Database unreachable"));
    }

    /// <summary>On real clocks (the process's and the database's, one machine) readiness passes the clock comparison,
    /// and the gauge shows a skew near zero (docs/SECURITY.md §7.10).</summary>
    [Test]
    public async Task A_real_instance_compares_its_clock_with_the_databases_and_is_ready()
    {
        await using var service = ServiceProcess.Start(ProductionEnvironment());
        Assert.That(await service.WaitReadyAsync(TimeSpan.FromSeconds(60)), Is.True, service.Output);
        using var client = service.Client();
        var ready = await client.GetAsync("/health/ready");
        Assert.That(await ready.Content.ReadAsStringAsync(), Is.EqualTo("Healthy"));
        var metrics = await client.GetStringAsync("/metrics");
        var skew = System.Text.RegularExpressions.Regex.Match(metrics, @"^authservice_clock_skew_seconds (\S+)$",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.That(skew.Success, Is.True, "authservice_clock_skew_seconds is exported");
        Assert.That(double.Parse(skew.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(0).Within(1.0));
    }

    /// <summary>Fail safe: every environment but Development (its name is free text, so `prod` is not Production)
    /// refuses the provider that writes codes to the log.</summary>
    [TestCase("Production")]
    [TestCase("Staging")]
    [TestCase("prod")]
    public async Task Log_telephony_is_refused_in_every_environment_but_development(string name)
    {
        var environment = ProductionEnvironment();
        environment["ASPNETCORE_ENVIRONMENT"] = name;
        environment["Telephony__Provider"] = "log";
        await using var service = ServiceProcess.Start(environment);
        Assert.That(await service.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Not.Zero, service.Output);
        var lines = service.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Length.EqualTo(1), service.Output);
        Assert.That(lines[0], Does.StartWith("AuthService cannot start:").And.Contain("development only").And.Contain($"'{name}'"));
    }
}

/// <summary>RFC 4226/6238 written out from the RFC text, sharing no code with the service or Otp.NET.</summary>
internal static class ReferenceTotp
{
    public static string Code(byte[] key, DateTimeOffset at)
    {
        var counter = at.ToUnixTimeSeconds() / 30;
        var message = new byte[8];
        for (var i = 7; i >= 0; i--, counter >>= 8)
        {
            message[i] = (byte)(counter & 0xff);
        }

        var hash = HMACSHA1.HashData(key, message);
        var offset = hash[^1] & 0x0f;
        var binary = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        return (binary % 1_000_000).ToString("D6");
    }

    public static byte[] Base32Decode(string text)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var output = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in text.TrimEnd('=').ToUpperInvariant())
        {
            buffer = (buffer << 5) | alphabet.IndexOf(c);
            bits += 5;
            if (bits >= 8)
            {
                output.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }

        return [.. output];
    }
}
