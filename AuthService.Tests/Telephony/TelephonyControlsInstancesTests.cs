using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Telephony;

/// <summary>Issue 14 across two real Production processes on one database (their own, since the caps count every
/// delivery in it), racing on separate connections: strangers cannot spend a confirmed owner's budget, and a small
/// per-country hourly cap stops concurrent sends exactly, with an Error log line, an audit event and a metric per refusal.
/// Real clock.</summary>
[Category("MultiProcess")]
public class TelephonyControlsInstancesTests
{
    private const int CountryHourlyCap = 6;

    private string _database = null!;
    private TelnyxStandIn _telnyx = null!;
    private ServiceProcess _a = null!;
    private ServiceProcess _b = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _database = TestDatabase.CreateDatabase("telephony_controls");
        _telnyx = new TelnyxStandIn();
        var environment = Instances.Production(_database, _telnyx, new Dictionary<string, string?>
        {
            ["Telephony__Telnyx__Resilience__AttemptTimeout"] = "00:00:05",
            ["Telephony__Telnyx__Resilience__TotalTimeout"] = "00:00:10",
            ["Telephony__Caps__PerCountryHourly"] = CountryHourlyCap.ToString(),
        });
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

    private async Task<HttpResponseMessage[]> RaceAsync(int count, Func<int, HttpClient, Task<HttpResponseMessage>> operation)
    {
        var clients = Enumerable.Range(0, count).Select(i => (i % 2 == 0 ? _a : _b).Client(Instances.AdminKey)).ToArray();
        try
        {
            var responses = await Race.RunAsync(count, i => operation(i, clients[i]), i => clients[i].GetAsync("/health/ready"));
            TestContext.Out.WriteLine(string.Join(",", responses.Select(r => (int)r.StatusCode)));
            return responses;
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Test]
    public async Task Twelve_strangers_racing_on_two_instances_send_at_most_three_unsolicited_codes_and_the_owner_still_gets_codes()
    {
        var phone = "+4474004" + Random.Shared.Next(10000, 99999); // GB mobile: the US cap test below does not touch it
        var owner = AuthApp.NewUserId("owner");
        using var a = _a.Client(Instances.AdminKey);
        using var b = _b.Client(Instances.AdminKey);
        var enroll = await a.PostAsJsonAsync($"/v1/users/{owner}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync());
        var confirm = await b.PostAsJsonAsync($"/v1/users/{owner}/two-factor/enroll/confirm", new { code = _telnyx.LastCodeTo(phone) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var strangers = await RaceAsync(12, (i, client) => client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId("stranger")}/two-factor/enroll",
            new { method = "phone", phoneNumber = phone, channel = i % 4 < 2 ? "sms" : "call" }));

        Assert.That(strangers.Count(r => r.StatusCode == HttpStatusCode.Accepted), Is.EqualTo(2), "3 unconfirmed sends a day, the owner's enrollment was one");
        foreach (var refused in strangers.Where(r => r.StatusCode != HttpStatusCode.Accepted))
        {
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        }

        Assert.That(_telnyx.DeliveriesTo(phone), Has.Count.EqualTo(3));

        var sms = await a.PostAsJsonAsync($"/v1/users/{owner}/two-factor/challenge", new { channel = "sms" });
        Assert.That(sms.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await sms.Content.ReadAsStringAsync());
        var call = await b.PostAsJsonAsync($"/v1/users/{owner}/two-factor/challenge", new { channel = "call" });
        Assert.That(call.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await call.Content.ReadAsStringAsync());
        Assert.That(_telnyx.DeliveriesTo(phone).Select(d => d.Channel).TakeLast(2), Is.EqualTo(new[] { "sms", "call" }));
        Assert.That((await Flows.VerifyAsync(a, owner, new { code = _telnyx.LastCodeTo(phone) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_small_per_country_cap_stops_concurrent_sends_on_two_instances_exactly_and_alerts()
    {
        const int senders = 20;
        var phones = Enumerable.Range(0, senders).Select(i => $"+1720556{Random.Shared.Next(0, 100):D2}{i:D2}").ToArray();

        var responses = await RaceAsync(senders, (i, client) => client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId("capped")}/two-factor/enroll",
            new { method = "phone", phoneNumber = phones[i], channel = i % 3 == 0 ? "call" : "sms" }));

        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Accepted), Is.EqualTo(CountryHourlyCap));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Accepted))
        {
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable, "telephony_capped");
            Assert.That(refused.Headers.RetryAfter?.Delta, Is.GreaterThan(TimeSpan.FromMinutes(59)));
        }

        Assert.That(phones.Sum(p => _telnyx.DeliveriesTo(p).Count), Is.EqualTo(CountryHourlyCap), "sends at the provider");
        await using (var connection = new NpgsqlConnection(_database))
        {
            Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from audit_events where event_type = 'telephony_capped'"),
                Is.EqualTo(senders - CountryHourlyCap));
        }

        int ErrorLines() => (_a.Output + _b.Output).Split('\n')
            .Count(l => l.Contains("Telephony cap reached", StringComparison.Ordinal) && l.Contains("\"@l\":\"Error\"", StringComparison.Ordinal));
        // The processes' stdout reaches this one through pipes, read on the thread pool: wait (bounded) for the lines.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ErrorLines() < senders - CountryHourlyCap && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(ErrorLines(), Is.EqualTo(senders - CountryHourlyCap), "one Error line per refusal, for paging");
        var blocked = 0.0;
        foreach (var service in new[] { _a, _b })
        {
            using var client = service.Client();
            var metrics = await client.GetStringAsync("/metrics");
            var match = Regex.Match(metrics, "authservice_telephony_sends_total\\{decision=\"blocked\",reason=\"country_hourly_cap\",country=\"US\"\\} (\\d+)");
            blocked += match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        }

        Assert.That(blocked, Is.EqualTo(senders - CountryHourlyCap), "the metric both instances export");
    }
}
