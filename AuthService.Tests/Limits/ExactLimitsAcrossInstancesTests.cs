using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using OtpNet;

namespace AuthService.Tests.Limits;

/// <summary>DESIGN §8.1 across two Production processes on one database (real clock): an attacker's burst split over both
/// instances gets no more evaluations than the limits allow, and the lockout comes after exactly the threshold of
/// evaluated wrong codes, with nothing accepted after it.</summary>
[Category("MultiProcess")]
public class ExactLimitsAcrossInstancesTests
{
    private const int LockoutThreshold = 100;

    private readonly List<ServiceProcess> _processes = [];
    private ServiceProcess[] _limited = null!; // the default limits: 5 failures a minute
    private ServiceProcess[] _lockout = null!; // a high per-minute limit, so only the lockout stops the guesses

    [OneTimeSetUp]
    public async Task Start()
    {
        var limited = Instances.Production(TestDatabase.ConnectionString, null);
        var lockout = Instances.Production(TestDatabase.ConnectionString, null, new Dictionary<string, string?>
        {
            ["Limits__AttemptsPerMinute"] = "1000",
            ["Limits__LockoutThreshold"] = LockoutThreshold.ToString(),
        });
        _processes.AddRange(await Task.WhenAll(
            Instances.StartAsync(limited), Instances.StartAsync(limited), Instances.StartAsync(lockout), Instances.StartAsync(lockout)));
        _limited = [_processes[0], _processes[1]];
        _lockout = [_processes[2], _processes[3]];
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
    }

    [Test]
    [Repeat(3)]
    public async Task A_burst_of_wrong_codes_split_across_instances_never_lets_the_right_one_in_after_the_limit()
    {
        var user = await EnableTotpAsync(_limited);
        var at = await Instances.SafeTotpMomentAsync();
        var right = ReferenceTotp.Code(user.Secret, at.AddSeconds(30)); // a fresh step inside the ±1 window
        var wrong = ExactLimitsTests.WrongCodes(user.Secret, 79, at);

        var statuses = await RaceAsync(_limited, 80, (client, i) => Flows.VerifyAsync(client, user.UserId, new { code = i == 79 ? right : wrong[i] }));

        TestContext.Out.WriteLine("burst: " + string.Join(" ", statuses.GroupBy(s => (int)s).OrderBy(g => g.Key).Select(g => $"{g.Count()}×{g.Key}")));
        await ExactLimitsTests.AssertExactAsync(TestDatabase.ConnectionString, user.UserId, statuses, attemptsPerMinute: 5);
    }

    [Test]
    public async Task The_lockout_comes_after_exactly_the_threshold_of_wrong_codes_under_50_way_concurrency()
    {
        var user = await EnableTotpAsync(_lockout);
        var at = await Instances.SafeTotpMomentAsync();
        var wrong = ExactLimitsTests.WrongCodes(user.Secret, 150, at);

        var statuses = new List<HttpStatusCode>();
        for (var round = 0; round < 3; round++) // 3 × 50 concurrent guesses
        {
            statuses.AddRange(await RaceAsync(_lockout, 50, (client, i) => Flows.VerifyAsync(client, user.UserId, new { code = wrong[round * 50 + i] })));
        }

        var right = ReferenceTotp.Code(user.Secret, DateTimeOffset.UtcNow);
        using var client = _lockout[0].Client(Instances.AdminKey);
        var afterwards = await Flows.VerifyAsync(client, user.UserId, new { code = right });

        var events = await ExactLimitsTests.EventsSinceEnabledAsync(TestDatabase.ConnectionString, user.UserId);
        TestContext.Out.WriteLine("lockout: " + string.Join(" ", statuses.GroupBy(s => (int)s).OrderBy(g => g.Key).Select(g => $"{g.Count()}×{g.Key}")));
        Assert.Multiple(() =>
        {
            Assert.That(events.Count(e => e == "verification_failed"), Is.EqualTo(LockoutThreshold), "exactly the threshold evaluated");
            Assert.That(events.Count(e => e == "locked"), Is.EqualTo(1));
            Assert.That(statuses.Count(s => s == HttpStatusCode.UnprocessableEntity), Is.EqualTo(LockoutThreshold - 1),
                "the 100th failure answers 423 itself");
            Assert.That(statuses.Count(s => s == HttpStatusCode.Locked), Is.EqualTo(150 - (LockoutThreshold - 1)));
            Assert.That(afterwards.StatusCode, Is.EqualTo(HttpStatusCode.Locked), "even the right code after the lockout");
            Assert.That(events, Has.None.EqualTo("verification_succeeded"));
        });
    }

    private static async Task<HttpStatusCode[]> RaceAsync(ServiceProcess[] pair, int count,
        Func<HttpClient, int, Task<HttpResponseMessage>> operation)
    {
        var clients = Enumerable.Range(0, count).Select(i => pair[i % 2].Client(Instances.AdminKey)).ToArray();
        try
        {
            var responses = await Race.RunAsync(count, i => operation(clients[i], i), i => clients[i].GetAsync("/health/ready"));
            return responses.Select(r => r.StatusCode).ToArray();
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static async Task<(string UserId, byte[] Secret)> EnableTotpAsync(ServiceProcess[] pair)
    {
        var userId = AuthApp.NewUserId("exact");
        using var a = pair[0].Client(Instances.AdminKey);
        using var b = pair[1].Client(Instances.AdminKey);
        var enroll = await Instances.JsonAsync(await a.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "totp" }));
        var secret = Base32Encoding.ToBytes(enroll.GetProperty("secret").GetString()!);
        var confirm = await b.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm",
            new { code = ReferenceTotp.Code(secret, await Instances.SafeTotpMomentAsync()) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());
        return (userId, secret);
    }
}
