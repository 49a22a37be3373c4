using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Telephony;

/// <summary>DESIGN §8.2 deployment-wide caps (issue 14, item 4), each test on a database of its own (the caps count every
/// delivery in it) with a small cap: <c>enforce</c> stops exactly at the cap with 503 <c>telephony_capped</c> and
/// Retry-After, <c>monitor</c> only counts and alerts; both leave an audit event and a metric. Races use two app
/// instances on one database with real concurrent connections.</summary>
public class TelephonyCapsTests
{
    private TelnyxStandIn _telnyx = null!;
    private static int _sequence;

    [SetUp]
    public void StartTelnyx() => _telnyx = new TelnyxStandIn();

    [TearDown]
    public void StopTelnyx() => _telnyx.Dispose();

    private AuthApp NewApp(string database, params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>(_telnyx.Settings);
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return new AuthApp(all, database);
    }

    private static string UsNumber() => $"+1720555{Interlocked.Increment(ref _sequence) % 10000:D4}";

    private static string GbNumber() => $"+4474003{Interlocked.Increment(ref _sequence) % 100000:D5}";

    private static Task<HttpResponseMessage> EnrollAsync(HttpClient client, string phone, string channel = "sms") =>
        client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId("cap")}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel });

    private static async Task<IReadOnlyList<string>> CappedEventsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        return (await connection.QueryAsync<string>(
            "select details::text from audit_events where event_type = 'telephony_capped' order by id")).ToList();
    }

    [Test]
    public async Task Enforce_stops_exactly_at_the_daily_cap_with_503_Retry_After_an_audit_event_and_a_metric()
    {
        var database = TestDatabase.CreateDatabase("caps_daily");
        using var app = NewApp(database, ("Telephony:Caps:Daily", "3"));
        using var client = app.AdminClient();
        var first = app.Time.GetUtcNow();
        for (var i = 0; i < 3; i++)
        {
            Assert.That((await EnrollAsync(client, UsNumber(), i == 1 ? "call" : "sms")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), $"send {i}");
            app.Time.Advance(TimeSpan.FromMinutes(10));
        }

        var before = _telnyx.RequestCount;
        var beforeScrape = await Scrape.TakeAsync(app);
        var capped = await EnrollAsync(client, GbNumber());

        await ProblemAssert.IsProblemAsync(capped, HttpStatusCode.ServiceUnavailable, "telephony_capped");
        var retryAfter = capped.Headers.RetryAfter!.Delta!.Value;
        Assert.That(retryAfter, Is.EqualTo(first.AddHours(24) - app.Time.GetUtcNow()), "until the oldest send leaves the rolling day");
        Assert.That(_telnyx.RequestCount, Is.EqualTo(before), "nothing reached the provider");
        var events = await CappedEventsAsync(database);
        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(events[0], Does.Contain("\"cap\": \"daily_cap\"").And.Contain("\"mode\": \"enforce\"").And.Contain("\"country\": \"GB\""));
        // This send's own increments: the series may exist from an earlier test (the metrics are the process's).
        var afterScrape = await Scrape.TakeAsync(app);
        Assert.Multiple(() =>
        {
            Assert.That(afterScrape["authservice_telephony_cap_reached{cap=\"daily\"}"], Is.EqualTo(1));
            Assert.That(afterScrape.Since(beforeScrape, "authservice_telephony_sends_total{decision=\"blocked\",reason=\"daily_cap\",country=\"GB\"}"),
                Is.EqualTo(1));
            Assert.That(afterScrape.Since(beforeScrape, "authservice_code_deliveries_total{channel=\"sms\",outcome=\"capped\"}"), Is.EqualTo(1));
        });

        app.Time.Advance(retryAfter);
        Assert.That((await EnrollAsync(client, GbNumber())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the rolling day moved on");
    }

    [Test]
    public async Task The_per_country_hourly_cap_stops_one_country_only_and_rolls_with_the_hour()
    {
        var database = TestDatabase.CreateDatabase("caps_country");
        using var app = NewApp(database, ("Telephony:Caps:PerCountryHourly", "2"));
        using var client = app.AdminClient();
        Assert.That((await EnrollAsync(client, UsNumber())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        app.Time.Advance(TimeSpan.FromMinutes(20));
        Assert.That((await EnrollAsync(client, UsNumber(), "call")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        var capped = await EnrollAsync(client, UsNumber());
        await ProblemAssert.IsProblemAsync(capped, HttpStatusCode.ServiceUnavailable, "telephony_capped");
        Assert.That(capped.Headers.RetryAfter!.Delta, Is.EqualTo(TimeSpan.FromMinutes(40)));
        Assert.That((await EnrollAsync(client, GbNumber())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "another country is not capped");

        app.Time.Advance(TimeSpan.FromMinutes(40));
        Assert.That((await EnrollAsync(client, UsNumber())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That((await CappedEventsAsync(database)).Single(), Does.Contain("country_hourly_cap").And.Contain("\"country\": \"US\""));
    }

    /// <summary>Both caps reached at once: Retry-After is the wait for room under both (the later), not the daily cap's alone,
    /// after which a client that obeyed it was refused again by the country's hour.</summary>
    [Test]
    public async Task With_both_caps_reached_Retry_After_waits_for_room_under_both()
    {
        var database = TestDatabase.CreateDatabase("caps_both");
        using var app = NewApp(database, ("Telephony:Caps:Daily", "3"), ("Telephony:Caps:PerCountryHourly", "2"));
        using var client = app.AdminClient();
        Assert.That((await EnrollAsync(client, UsNumber())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        app.Time.Advance(TimeSpan.FromMinutes(23 * 60 + 30));
        Assert.That((await EnrollAsync(client, UsNumber())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        app.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.That((await EnrollAsync(client, UsNumber())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        app.Time.Advance(TimeSpan.FromMinutes(1));

        // The day has room in 28 minutes (the first send leaves it), the US hour in 58 (the second send leaves it).
        var capped = await EnrollAsync(client, UsNumber());
        await ProblemAssert.IsProblemAsync(capped, HttpStatusCode.ServiceUnavailable, "telephony_capped");
        Assert.That(capped.Headers.RetryAfter!.Delta, Is.EqualTo(TimeSpan.FromMinutes(58)));
        var metrics = await client.GetStringAsync("/metrics");
        Assert.That(metrics, Does.Contain("authservice_telephony_cap_reached{cap=\"daily\"} 1"));
        Assert.That(metrics, Does.Contain("authservice_telephony_cap_reached{cap=\"country_hourly\"} 1"), "both caps were found reached");

        // 28 minutes on, the day has room but the US hour has not: the daily gauge says so.
        app.Time.Advance(TimeSpan.FromMinutes(28));
        await ProblemAssert.IsProblemAsync(await EnrollAsync(client, UsNumber()), HttpStatusCode.ServiceUnavailable, "telephony_capped");
        metrics = await client.GetStringAsync("/metrics");
        Assert.That(metrics, Does.Contain("authservice_telephony_cap_reached{cap=\"daily\"} 0"));
        Assert.That(metrics, Does.Contain("authservice_telephony_cap_reached{cap=\"country_hourly\"} 1"));

        app.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.That((await EnrollAsync(client, UsNumber())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "room under both once Retry-After passed");
        metrics = await client.GetStringAsync("/metrics");
        Assert.That(metrics, Does.Contain("authservice_telephony_cap_reached{cap=\"daily\"} 0").And.Contain("authservice_telephony_cap_reached{cap=\"country_hourly\"} 0"));
    }

    [Test]
    public async Task Concurrent_sends_on_two_instances_stop_exactly_at_the_daily_cap()
    {
        const int senders = 24;
        const int cap = 7;
        var database = TestDatabase.CreateDatabase("caps_race");
        using var a = NewApp(database, ("Telephony:Caps:Daily", cap.ToString()));
        using var b = NewApp(database, ("Telephony:Caps:Daily", cap.ToString()));
        b.Time.SetUtcNow(a.Time.GetUtcNow());
        var clients = Enumerable.Range(0, senders).Select(i => (i % 2 == 0 ? a : b).AdminClient()).ToArray();
        var phones = Enumerable.Range(0, senders).Select(_ => UsNumber()).ToArray();

        var responses = await Race.RunAsync(senders, i => EnrollAsync(clients[i], phones[i]), i => clients[i].GetAsync("/health/ready"));

        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Accepted), Is.EqualTo(cap));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.ServiceUnavailable), Is.EqualTo(senders - cap));
        Assert.That(_telnyx.RequestCount, Is.EqualTo(cap), "sends at the provider");
        Assert.That(await CappedEventsAsync(database), Has.Count.EqualTo(senders - cap));
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    /// <summary>Far below the cap (count + max_connections &lt; cap) reservations share the caps lock; closer, one that finds
    /// the room gone starts again under the exclusive lock. Nothing is lost or double-counted on the way.</summary>
    [Test]
    public async Task Reservations_that_share_the_caps_lock_fall_back_to_the_exclusive_lock_near_the_cap_and_stay_exact()
    {
        const int senders = 20;
        var database = TestDatabase.CreateDatabase("caps_shared");
        await using (var connection = new NpgsqlConnection(database))
        {
            var maxConnections = await connection.ExecuteScalarAsync<int>("select current_setting('max_connections')::int");
            var cap = maxConnections + 30; // 25 on record: the first few share the lock, the rest need the exclusive one
            using var a = NewApp(database, ("Telephony:Caps:Daily", cap.ToString()));
            using var b = NewApp(database, ("Telephony:Caps:Daily", cap.ToString()));
            b.Time.SetUtcNow(a.Time.GetUtcNow());
            var clients = Enumerable.Range(0, senders).Select(i => (i % 2 == 0 ? a : b).AdminClient()).ToArray();
            await clients[0].GetAsync("/health/ready"); // started: the schema exists
            await connection.ExecuteAsync("""
                insert into deliveries (user_id, phone_hash, channel, confirmed, country, created_at)
                select 'filler-' || i, '\x00'::bytea, 'sms', true, 'US', @now from generate_series(1, 25) i
                """, new { now = a.Time.GetUtcNow().AddMinutes(-5) });
            var phones = Enumerable.Range(0, senders).Select(_ => UsNumber()).ToArray();

            var responses = await Race.RunAsync(senders, i => EnrollAsync(clients[i], phones[i]), i => clients[i].GetAsync("/health/ready"));

            Assert.That(responses.Select(r => r.StatusCode), Has.All.EqualTo(HttpStatusCode.Accepted));
            Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from deliveries"), Is.EqualTo(25 + senders));
            Assert.That(_telnyx.RequestCount, Is.EqualTo(senders));
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Test]
    public async Task Monitor_mode_on_two_instances_sends_everything_but_counts_and_alerts_past_the_cap()
    {
        const int senders = 10;
        const int cap = 4;
        var database = TestDatabase.CreateDatabase("caps_monitor");
        using var a = NewApp(database, ("Telephony:Caps:Daily", cap.ToString()), ("Telephony:Caps:Mode", "monitor"));
        using var b = NewApp(database, ("Telephony:Caps:Daily", cap.ToString()), ("Telephony:Caps:Mode", "Monitor"));
        b.Time.SetUtcNow(a.Time.GetUtcNow());
        var clients = Enumerable.Range(0, senders).Select(i => (i % 2 == 0 ? a : b).AdminClient()).ToArray();
        var phones = Enumerable.Range(0, senders).Select(_ => GbNumber()).ToArray();

        var responses = await Race.RunAsync(senders, i => EnrollAsync(clients[i], phones[i]), i => clients[i].GetAsync("/health/ready"));

        Assert.That(responses.Select(r => r.StatusCode), Has.All.EqualTo(HttpStatusCode.Accepted));
        Assert.That(_telnyx.RequestCount, Is.EqualTo(senders));
        var events = await CappedEventsAsync(database);
        Assert.That(events, Has.Count.EqualTo(senders - cap), "every send that found the cap reached is on record");
        Assert.That(events, Has.All.Contain("\"mode\": \"monitor\""));
        Assert.That(await clients[0].GetStringAsync("/metrics"),
            Does.Contain("authservice_telephony_sends_total{decision=\"allowed\",reason=\"daily_cap\",country=\"GB\"}"));
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
