using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using OtpNet;

namespace AuthService.Tests.Operations;

/// <summary>Two real processes behind an imaginary load balancer, one database: every single-use rule and every
/// limit must hold exactly when the racing requests are split across instances (DESIGN §2). Real clock.</summary>
[Category("MultiProcess")]
public class TwoInstancesTests
{
    private const int Racers = 20;

    private TelnyxStandIn _telnyx = null!;
    private ServiceProcess _a = null!;
    private ServiceProcess _b = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _telnyx = new TelnyxStandIn();
        var environment = Instances.Production(TestDatabase.ConnectionString, _telnyx, new Dictionary<string, string?>
        {
            // The stand-in's 1 s attempt timeout is tuned for in-process tests; a cold process JITs the first send.
            ["Telephony__Telnyx__Resilience__AttemptTimeout"] = "00:00:05",
            ["Telephony__Telnyx__Resilience__TotalTimeout"] = "00:00:10",
        });
        // Both start at once: the migration lock must let them share the fresh database.
        var started = await Task.WhenAll(Instances.StartAsync(environment), Instances.StartAsync(environment));
        (_a, _b) = (started[0], started[1]);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _telnyx.Dispose();
    }

    /// <summary>Request <paramref name="i"/> goes to instance A when even, B when odd, each on its own client.</summary>
    private HttpClient ClientFor(int i) => (i % 2 == 0 ? _a : _b).Client(Instances.AdminKey);

    private async Task<HttpStatusCode[]> RaceAsync(int count, Func<HttpClient, Task<HttpResponseMessage>> operation)
    {
        var clients = Enumerable.Range(0, count).Select(ClientFor).ToArray();
        try
        {
            var responses = await Race.RunAsync(count, i => operation(clients[i]),
                i => clients[i].GetAsync("/health/ready")); // opens the HTTP and database connections first
            var statuses = responses.Select(r => r.StatusCode).ToArray();
            Assert.That(statuses.Select(s => (int)s), Has.All.LessThan(500), "no 5xx under the race");
            return statuses;
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private async Task<(string UserId, byte[] Secret, IReadOnlyList<string> BackupCodes)> EnableTotpAsync()
    {
        var userId = AuthApp.NewUserId("two");
        using var a = _a.Client(Instances.AdminKey);
        using var b = _b.Client(Instances.AdminKey);
        var enroll = await a.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "totp", accountName = "ann@example.com" });
        var body = await Instances.JsonAsync(enroll);
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var secret = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        var confirm = await b.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm",
            new { code = ReferenceTotp.Code(secret, await Instances.SafeTotpMomentAsync()) });
        var confirmed = await Instances.JsonAsync(confirm);
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), confirmed.ToString());
        return (userId, secret, confirmed.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!).ToList());
    }

    private async Task<(string UserId, string Phone)> EnablePhoneAsync()
    {
        var userId = AuthApp.NewUserId("two");
        var phone = PhoneFactorTests.NewPhone();
        using var a = _a.Client(Instances.AdminKey);
        using var b = _b.Client(Instances.AdminKey);
        var enroll = await a.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync());
        var confirm = await b.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = _telnyx.LastCodeTo(phone) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());
        return (userId, phone);
    }

    [Test]
    public async Task One_totp_code_raced_on_both_instances_is_accepted_exactly_once()
    {
        var user = await EnableTotpAsync();
        // The step after the one used to confirm: fresh, and inside the ±1 window.
        var code = ReferenceTotp.Code(user.Secret, (await Instances.SafeTotpMomentAsync()).AddSeconds(30));

        var statuses = await RaceAsync(Racers, c => Flows.VerifyAsync(c, user.UserId, new { code }));

        TestContext.Out.WriteLine("totp race: " + string.Join(",", statuses.Select(s => (int)s)));
        Assert.That(statuses.Count(s => s == HttpStatusCode.OK), Is.EqualTo(1));
        Assert.That(statuses.Where(s => s != HttpStatusCode.OK),
            Has.All.AnyOf(HttpStatusCode.UnprocessableEntity, HttpStatusCode.TooManyRequests));
    }

    [Test]
    public async Task One_backup_code_raced_on_both_instances_is_accepted_exactly_once()
    {
        var user = await EnableTotpAsync();
        var backupCode = user.BackupCodes[3];

        var statuses = await RaceAsync(Racers, c => Flows.VerifyAsync(c, user.UserId, new { backupCode }));

        Assert.That(statuses.Count(s => s == HttpStatusCode.OK), Is.EqualTo(1));
        Assert.That(statuses.Where(s => s != HttpStatusCode.OK),
            Has.All.AnyOf(HttpStatusCode.UnprocessableEntity, HttpStatusCode.TooManyRequests));
        using var a = _a.Client(Instances.AdminKey);
        var remaining = await Instances.JsonAsync(await a.GetAsync($"/v1/users/{user.UserId}/two-factor/backup-codes"));
        Assert.That(remaining.GetProperty("remaining").GetInt32(), Is.EqualTo(9));
    }

    [Test]
    public async Task One_phone_login_code_raced_on_both_instances_is_accepted_exactly_once()
    {
        var user = await EnablePhoneAsync();
        using (var a = _a.Client(Instances.AdminKey))
        {
            var challenge = await a.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms" });
            Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        }

        var code = _telnyx.LastCodeTo(user.Phone);
        var statuses = await RaceAsync(Racers, c => Flows.VerifyAsync(c, user.UserId, new { code }));

        Assert.That(statuses.Count(s => s == HttpStatusCode.OK), Is.EqualTo(1));
        Assert.That(statuses.Where(s => s != HttpStatusCode.OK),
            Has.All.AnyOf(HttpStatusCode.UnprocessableEntity, HttpStatusCode.TooManyRequests));
    }

    [Test]
    public async Task The_daily_budget_holds_exactly_across_instances()
    {
        var user = await EnablePhoneAsync(); // the enrollment SMS was delivery 1 of 10
        const int attempts = 30;

        var statuses = await RaceAsync(attempts,
            c => c.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms" }));

        Assert.That(statuses.Count(s => s == HttpStatusCode.Accepted), Is.EqualTo(9));
        Assert.That(statuses.Count(s => s == HttpStatusCode.TooManyRequests), Is.EqualTo(attempts - 9));
        Assert.That(_telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(10), "deliveries the stand-in received");
    }

    [Test]
    public async Task The_per_minute_attempt_limit_holds_exactly_across_instances()
    {
        var user = await EnableTotpAsync();
        var now = DateTimeOffset.UtcNow;
        var live = new[] { -60, -30, 0, 30, 60 }.Select(s => ReferenceTotp.Code(user.Secret, now.AddSeconds(s))).ToHashSet();
        var wrong = Enumerable.Range(0, 1000).Select(i => (i * 7919 % 1_000_000).ToString("D6")).First(c => !live.Contains(c));

        var statuses = await RaceAsync(Racers, c => Flows.VerifyAsync(c, user.UserId, new { code = wrong }));

        Assert.That(statuses.Count(s => s == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5));
        Assert.That(statuses.Count(s => s == HttpStatusCode.TooManyRequests), Is.EqualTo(Racers - 5));
    }
}
