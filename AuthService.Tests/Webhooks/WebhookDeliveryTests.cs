using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OtpNet;
using static AuthService.Tests.Webhooks.WebhookTesting;

namespace AuthService.Tests.Webhooks;

/// <summary>Delivery under failure, on simulated time: a receiver down for minutes while two instances make 200
/// changes, a hanging receiver, a receiver that fails for a day, metrics and pruning.</summary>
public class WebhookDeliveryTests
{
    private AuthApp _a = null!;
    private AuthApp _b = null!;
    private HttpClient _clientA = null!;
    private HttpClient _clientB = null!;
    private WebhookReceiver _receiver = null!;
    private Endpoint _endpoint = null!;

    [SetUp]
    public async Task Start()
    {
        _a = new AuthApp();
        _b = new AuthApp();
        (_clientA, _clientB) = (_a.AdminClient(), _b.AdminClient());
        _receiver = await WebhookReceiver.StartAsync();
        _endpoint = await SubscribeAsync(_clientA, _receiver, "two_factor.*");
    }

    [TearDown]
    public async Task Stop()
    {
        await DeleteEndpointsAsync(_a.ConnectionString, _endpoint.Id);
        await _receiver.DisposeAsync();
        _clientA.Dispose();
        _clientB.Dispose();
        _a.Dispose();
        _b.Dispose();
    }

    private void Advance(TimeSpan by)
    {
        _a.Time.Advance(by);
        _b.Time.Advance(by);
    }

    private async Task<JsonElement> DeliveriesAsync(string query = "") =>
        (await _clientA.GetFromJsonAsync<JsonElement>($"/v1/webhooks/{_endpoint.Id}/deliveries{query}")).GetProperty("items");

    /// <summary>Enrolls and confirms without moving the clock (both instances' clocks stay in step).</summary>
    private static async Task<List<string>> EnableAsync(HttpClient client, AuthApp app, string userId)
    {
        var (secret, _) = await Flows.EnrollTotpAsync(client, userId);
        var confirm = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Flows.Code(secret, app.Time.GetUtcNow()) });
        var body = await confirm.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        return body.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!).ToList();
    }

    /// <summary>docs/OPERATIONS.md's rotation of an endpoint's secret: the same URL registered again gets a new secret, each
    /// event then goes to both endpoints under one <c>webhook-id</c>, each signed with its own endpoint's secret, and once the
    /// old endpoint is deleted only the new secret signs.</summary>
    [Test]
    public async Task Rotating_a_secret_by_a_second_endpoint_for_the_same_url_signs_each_event_once_per_secret_under_one_id()
    {
        var second = await CreateEndpointAsync(_clientA, _receiver.Url, "two_factor.*");
        try
        {
            Assert.That(second.Secret, Is.Not.EqualTo(_endpoint.Secret));
            var during = AuthApp.NewUserId("rotate");
            await EnableAsync(_clientA, _a, during);
            await DrainAsync(_a);
            var both = _receiver.Received.Where(r => r.UserId == during).ToList();
            Assert.That(both, Has.Count.EqualTo(2), "one request per endpoint");
            Assert.That(both.Select(r => r.Id).Distinct().Count(), Is.EqualTo(1), "one webhook-id: the receiver handles the event once");
            Assert.That(both.Count(r => IndependentVerifier.Verify(_endpoint.Secret, r.Id, r.Timestamp, r.Body, r.Signature)), Is.EqualTo(1));
            Assert.That(both.Count(r => IndependentVerifier.Verify(second.Secret, r.Id, r.Timestamp, r.Body, r.Signature)), Is.EqualTo(1));

            Assert.That((await _clientA.DeleteAsync($"/v1/webhooks/{_endpoint.Id}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            var after = AuthApp.NewUserId("rotated");
            await EnableAsync(_clientA, _a, after);
            await DrainAsync(_a);
            var single = _receiver.Received.Where(r => r.UserId == after).ToList();
            Assert.That(single, Has.Count.EqualTo(1));
            Assert.That(IndependentVerifier.Verify(second.Secret, single[0].Id, single[0].Timestamp, single[0].Body, single[0].Signature), Is.True);
            Assert.That(IndependentVerifier.Verify(_endpoint.Secret, single[0].Id, single[0].Timestamp, single[0].Body, single[0].Signature), Is.False);
        }
        finally
        {
            await DeleteEndpointsAsync(_a.ConnectionString, second.Id);
        }
    }

    [Test]
    public async Task Receiver_down_for_five_minutes_while_two_instances_make_200_changes_loses_nothing_and_keeps_each_users_order()
    {
        const int users = 40; // 40 users × (enable + 4 backup-code uses) = 200 changes
        var ids = Enumerable.Range(0, users).Select(_ => AuthApp.NewUserId("outage")).ToArray();
        var codes = new List<string>[users];
        var clients = new[] { (_clientA, _a), (_clientB, _b) };
        _receiver.AnswerWith(503);

        // Minute k: step k of every user, concurrently, user i's step on instance (i + k) % 2 — each user's events
        // come from both instances. Both dispatch every 10 simulated seconds throughout.
        for (var second = 0; second < 300; second += 10)
        {
            if (second % 60 == 0)
            {
                var step = second / 60;
                await Task.WhenAll(Enumerable.Range(0, users).Select(async i =>
                {
                    var (client, app) = clients[(i + step) % 2];
                    if (step == 0)
                    {
                        codes[i] = await EnableAsync(client, app, ids[i]);
                    }
                    else
                    {
                        (await Flows.VerifyAsync(client, ids[i], new { backupCode = codes[i][step - 1] })).EnsureSuccessStatusCode();
                    }
                }));
            }

            await DrainAsync(_a, _b);
            Advance(TimeSpan.FromSeconds(10));
        }

        var failedAttempts = _receiver.Received.Count;
        Assert.That(failedAttempts, Is.GreaterThan(0), "the dispatchers kept trying while it was down");
        _receiver.AnswerWith(204);
        var back = _a.Time.GetUtcNow();
        var mine = new HashSet<string>(ids);
        // Each backup-code login also tells two_factor.new_device_login; the 200 changes counted here are the others.
        bool Counted(ReceivedWebhook r) => r.Type != Api.Events.WebhookEvents.NewDeviceLogin;
        for (var tick = 0; tick < 720 && _receiver.Received.Skip(failedAttempts).Where(Counted).Select(r => r.Id).Distinct().Count() < 200; tick++)
        {
            await DrainAsync(_a, _b);
            Advance(TimeSpan.FromSeconds(10));
        }

        var delivered = _receiver.Received.Skip(failedAttempts).Where(r => r.UserId is { } u && mine.Contains(u) && Counted(r)).ToList();
        var duplicates = delivered.Count - delivered.Select(r => r.Id).Distinct().Count();
        TestContext.Out.WriteLine($"200 changes; {failedAttempts} refused attempts while down; all delivered " +
                                  $"{(_a.Time.GetUtcNow() - back).TotalSeconds:F0} simulated s after the receiver came back; {duplicates} duplicates");
        Assert.Multiple(() =>
        {
            Assert.That(delivered.Select(r => r.Id).Distinct().Count(), Is.EqualTo(200), "every event arrived");
            Assert.That(delivered.Select(r => r.SignatureValid), Has.All.True);
            Assert.That(duplicates, Is.Zero, "503 is a known outcome: nothing is sent twice");
            foreach (var userId in ids)
            {
                var events = For(_receiver, userId).Where(Counted);
                var sequence = events.Select(r => r.Type == "two_factor.enabled" ? "enabled" : r.Data.GetProperty("backupCodesRemaining").GetInt32().ToString());
                Assert.That(sequence, Is.EqualTo(new[] { "enabled", "9", "8", "7", "6" }), $"order of {userId}");
            }
        });
        Assert.That((await DeliveriesAsync("?status=pending")).GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task A_hanging_receiver_never_slows_the_request_and_its_attempt_times_out_then_is_retried()
    {
        _receiver.Hang();
        var first = AuthApp.NewUserId();
        await EnableAsync(_clientA, _a, first);
        var arrival = _receiver.NextArrival();
        var dispatch = Dispatcher(_a).DispatchOnceAsync(CancellationToken.None);
        await arrival.WaitAsync(TimeSpan.FromSeconds(30));

        // The dispatcher holds its claim and its connection while the receiver hangs; changes go on.
        var watch = Stopwatch.StartNew();
        var second = AuthApp.NewUserId();
        await EnableAsync(_clientB, _b, second);
        (await _clientB.PostAsJsonAsync($"/v1/users/{second}/two-factor/reset", new { reason = "r", ticket = "t" })).EnsureSuccessStatusCode();
        watch.Stop();
        Assert.That(dispatch.IsCompleted, Is.False, "the attempt is still hanging");
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "three requests while a delivery hangs");

        _a.Time.Advance(TimeSpan.FromSeconds(10)); // Webhooks:Timeout on the instance's clock
        Assert.That(await dispatch.WaitAsync(TimeSpan.FromSeconds(30)), Is.GreaterThanOrEqualTo(1));
        var timedOut = (await DeliveriesAsync()).EnumerateArray().Single(d => d.GetProperty("userId").GetString() == first);
        Assert.That(timedOut.GetProperty("lastError").GetString(), Does.Contain("did not answer in time"));
        Assert.That(timedOut.GetProperty("status").GetString(), Is.EqualTo("pending"));

        _receiver.Release();
        _receiver.AnswerWith(204);
        _receiver.Hang();
        _receiver.Release();
        Advance(TimeSpan.FromMinutes(1));
        await DrainAsync(_a, _b);
        var arrivals = _receiver.Received.Where(r => r.UserId == first).ToList();
        Assert.That(arrivals.Select(r => r.Id).Distinct().Count(), Is.EqualTo(1));
        Assert.That(arrivals, Has.Count.EqualTo(2), "the timed-out attempt's outcome was unknown: one duplicate, same webhook-id");
        Assert.That(For(_receiver, second).Select(r => r.Type), Is.EqualTo(new[] { "two_factor.enabled", "two_factor.reset" }));
    }

    [Test]
    public async Task A_receiver_failing_for_a_day_is_retried_with_growing_delays_then_the_delivery_is_failed()
    {
        _receiver.AnswerWith(500);
        var userId = AuthApp.NewUserId();
        await EnableAsync(_clientA, _a, userId);
        var attempts = new List<DateTimeOffset>();
        var start = _a.Time.GetUtcNow();
        JsonElement delivery;
        while (true)
        {
            Assert.That(await Dispatcher(_a).DispatchOnceAsync(CancellationToken.None), Is.EqualTo(1));
            attempts.Add(_a.Time.GetUtcNow());
            delivery = (await DeliveriesAsync()).EnumerateArray().Single(d => d.GetProperty("userId").GetString() == userId);
            if (delivery.GetProperty("nextAttemptAt").ValueKind == JsonValueKind.Null || attempts.Count > 100)
            {
                break;
            }

            // Nothing is due a second before the scheduled retry; then it is.
            var next = delivery.GetProperty("nextAttemptAt").GetDateTimeOffset();
            _a.Time.Advance(next - _a.Time.GetUtcNow() - TimeSpan.FromSeconds(1));
            Assert.That(await Dispatcher(_a).DispatchOnceAsync(CancellationToken.None), Is.Zero);
            _a.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var gaps = attempts.Zip(attempts.Skip(1), (x, y) => (y - x).TotalSeconds).ToList();
        TestContext.Out.WriteLine($"{attempts.Count} attempts over {(attempts[^1] - start).TotalHours:F1} h; gaps (s): {string.Join(", ", gaps.Take(14))} …");
        Assert.Multiple(() =>
        {
            Assert.That(delivery.GetProperty("status").GetString(), Is.EqualTo("failed"));
            Assert.That(delivery.GetProperty("attempts").GetInt32(), Is.EqualTo(attempts.Count));
            Assert.That(attempts[^1] - start, Is.GreaterThanOrEqualTo(TimeSpan.FromHours(24)), "retried for at least 24 h");
            Assert.That(gaps.Take(8), Is.Ordered, "exponential backoff");
            Assert.That(gaps.Max(), Is.LessThanOrEqualTo(3600 * 1.2 + 1), "capped at an hour plus jitter");
            Assert.That(gaps.Take(10).Distinct().Count(), Is.GreaterThan(5));
        });
    }

    [Test]
    public async Task Metrics_show_outbox_depth_oldest_age_and_outcomes_and_housekeeping_prunes_only_finished_rows()
    {
        _receiver.AnswerWith(503);
        var userId = AuthApp.NewUserId();
        await EnableAsync(_clientA, _a, userId);
        _a.Time.Advance(TimeSpan.FromMinutes(2));
        await Dispatcher(_a).DispatchOnceAsync(CancellationToken.None);
        using var anonymous = _a.CreateClient();
        var metrics = await anonymous.GetStringAsync("/metrics");
        Assert.That(Value(metrics, "authservice_webhook_outbox_depth"), Is.GreaterThanOrEqualTo(1));
        Assert.That(Value(metrics, "authservice_webhook_oldest_pending_age_seconds"), Is.GreaterThanOrEqualTo(120));
        Assert.That(Value(metrics, "authservice_webhook_deliveries_total{outcome=\"http_error\"}"), Is.GreaterThanOrEqualTo(1));
        Assert.That(metrics, Does.Not.Contain(userId));

        _receiver.AnswerWith(204);
        _a.Time.Advance(TimeSpan.FromMinutes(5));
        await DrainAsync(_a);
        Assert.That(Value(await anonymous.GetStringAsync("/metrics"), "authservice_webhook_deliveries_total{outcome=\"delivered\"}"), Is.GreaterThanOrEqualTo(1));

        _receiver.AnswerWith(503);
        var later = AuthApp.NewUserId();
        _a.Time.Advance(TimeSpan.FromDays(8));
        await EnableAsync(_clientA, _a, later); // pending: must survive pruning
        Assert.That(await Dispatcher(_a).PruneAsync(CancellationToken.None), Is.GreaterThanOrEqualTo(2), "the delivered row and its event");
        var left = (await DeliveriesAsync()).EnumerateArray().Select(d => d.GetProperty("userId").GetString()).ToList();
        Assert.That(left, Does.Contain(later).And.Not.Contain(userId));
    }

    /// <summary>An instance whose clock disagrees with the database's (readiness 503, <see cref="AuthService.Api.Observability.ClockAgreement"/>)
    /// neither delivers nor prunes: due times, the retry period, the retention and the signed timestamp are its clock.</summary>
    [Test]
    public async Task An_instance_whose_clock_disagrees_with_the_databases_neither_delivers_nor_prunes()
    {
        var clock = _a.Services.GetRequiredService<AuthService.Api.Observability.ClockAgreement>();
        await EnableAsync(_clientA, _a, AuthApp.NewUserId());

        clock.Record("this instance's clock is 900.0 s ahead of the database's");
        Assert.That(await Dispatcher(_a).DispatchOnceAsync(CancellationToken.None), Is.Zero, "a due delivery, left to the other instances");
        clock.Record(null);
        Assert.That(await Dispatcher(_a).DispatchOnceAsync(CancellationToken.None), Is.EqualTo(1));

        _a.Time.Advance(TimeSpan.FromDays(8));
        clock.Record("this instance's clock is 691200.0 s ahead of the database's");
        Assert.That(await Dispatcher(_a).PruneAsync(CancellationToken.None), Is.Zero, "a delivered row past the retention by this clock only");
        clock.Record(null);
        Assert.That(await Dispatcher(_a).PruneAsync(CancellationToken.None), Is.GreaterThanOrEqualTo(2), "the delivered row and its event");
    }

    /// <summary>A retention period's worth of finished deliveries goes in bounded transactions, and a bounded number of them per
    /// pass (the prune runs in the dispatch loop): here one row per statement and two rounds per pass, so three users' deliveries
    /// and events take two passes, and the pending one stays.</summary>
    [Test]
    public async Task The_prune_works_off_more_rows_than_one_statement_takes_and_leaves_the_pending()
    {
        _receiver.AnswerWith(204);
        var finished = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            finished.Add(AuthApp.NewUserId());
            await EnableAsync(_clientA, _a, finished[^1]);
        }

        await DrainAsync(_a);
        _receiver.AnswerWith(503);
        Advance(TimeSpan.FromDays(8));
        var pending = AuthApp.NewUserId();
        await EnableAsync(_clientA, _a, pending);

        var dispatcher = Dispatcher(_a);
        dispatcher.PruneRowsPerStatement = 1;
        dispatcher.PruneRoundsPerPass = 2;
        // An endpoint an earlier test deleted while a dispatch pass held it is still marked, and the prune removes it first (one
        // per statement, counted in the result): allowed for, or the bound below fails whenever an earlier test left one.
        long marked;
        await using (var connection = new NpgsqlConnection(_a.ConnectionString))
        {
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("select count(*) from webhook_endpoints where deleted_at is not null", connection);
            marked = (long)(await count.ExecuteScalarAsync())!;
        }

        var pruned = await dispatcher.PruneAsync(CancellationToken.None);
        Assert.That(pruned, Is.InRange(2, 4 + Math.Min(marked, 1)),
            "two rounds of one delivery and at most one event, and at most one marked endpoint: the rest waits for the next pass");
        dispatcher.PruneRoundsPerPass = 100;
        pruned += await dispatcher.PruneAsync(CancellationToken.None);

        var left = (await DeliveriesAsync()).EnumerateArray().Select(d => d.GetProperty("userId").GetString()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(pruned, Is.GreaterThanOrEqualTo(6), "three deliveries and their three events at least");
            Assert.That(left, Does.Not.Contain(finished[0]).And.Not.Contain(finished[1]).And.Not.Contain(finished[2]));
            Assert.That(left, Does.Contain(pending), "pending deliveries are never pruned");
        });
    }

    /// <summary>Pending deliveries are never pruned (docs/OPERATIONS.md). A redelivery's copy of an old finished delivery,
    /// inserted while the prune ran, was invisible to its "no delivery waits for this event": the event's delete waited on the
    /// copy's key lock and, once the copy committed, cascaded it away. The prune now passes over an event something holds.</summary>
    [Test]
    public async Task A_copy_queued_while_the_prune_runs_survives_it()
    {
        _receiver.AnswerWith(204);
        var userId = AuthApp.NewUserId();
        await EnableAsync(_clientA, _a, userId);
        await DrainAsync(_a);
        var id = (await DeliveriesAsync("?status=delivered")).EnumerateArray()
            .First(d => d.GetProperty("userId").GetString() == userId).GetProperty("id").GetInt64();
        _a.Time.Advance(TimeSpan.FromDays(8)); // past Webhooks:Retention

        // What a redelivery of it inserts (WebhookStore.RedeliverByIdAsync), not yet committed while the prune runs.
        await using var redelivery = new NpgsqlConnection(_a.ConnectionString);
        await redelivery.OpenAsync();
        var copying = await redelivery.BeginTransactionAsync();
        var copyId = await redelivery.ExecuteScalarAsync<long>("""
            insert into webhook_deliveries (event_id, endpoint_id, order_key, next_attempt_at, created_at)
            select event_id, endpoint_id, order_key, now(), now() from webhook_deliveries where id = @id
            returning id
            """, new { id }, copying);
        var prune = Dispatcher(_a).PruneAsync(CancellationToken.None);
        await using (var observer = new NpgsqlConnection(_a.ConnectionString))
        {
            // Until the prune ends or waits on the copy's lock (polling the database's state, not driving a clock).
            for (var i = 0; i < 500 && !prune.IsCompleted && await observer.ExecuteScalarAsync<long>(
                     "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'") == 0; i++)
            {
                await Task.Delay(20);
            }
        }

        await copying.CommitAsync();
        await prune.WaitAsync(TimeSpan.FromSeconds(10));

        await using var check = new NpgsqlConnection(_a.ConnectionString);
        Assert.That(await check.ExecuteScalarAsync<long>("select count(*) from webhook_deliveries where id = @copyId and status = 'pending'", new { copyId }),
            Is.EqualTo(1), "the pending copy survived the prune");
    }

    private static double Value(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }
}
