using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AuthService.Api.Webhooks;
using AuthService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static AuthService.Tests.Webhooks.WebhookTesting;

namespace AuthService.Tests.Webhooks;

/// <summary>The admin API of webhook endpoints, the deliveries view and redelivery, and the SSRF guard at
/// registration and at send time.</summary>
public class WebhookEndpointsTests
{
    private AuthApp _app = null!;
    private HttpClient _client = null!;
    private WebhookReceiver _receiver = null!;
    private readonly List<Guid> _endpoints = [];

    [OneTimeSetUp]
    public async Task Start()
    {
        _app = new AuthApp();
        _client = _app.AdminClient();
        _receiver = await WebhookReceiver.StartAsync();
    }

    /// <summary>Each test sees only its own endpoints' deliveries.</summary>
    [TearDown]
    public async Task DeleteEndpoints()
    {
        await DeleteEndpointsAsync(_app.ConnectionString, [.. _endpoints]);
        _endpoints.Clear();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _receiver.DisposeAsync();
        _client.Dispose();
        _app.Dispose();
    }

    [SetUp]
    public void Up() => _receiver.AnswerWith(204);

    private async Task<Endpoint> SubscribeAsync(params string[] events)
    {
        var endpoint = await WebhookTesting.SubscribeAsync(_client, _receiver, events);
        _endpoints.Add(endpoint.Id);
        return endpoint;
    }

    private async Task<JsonElement> DeliveriesAsync(Guid endpoint, string query = "") =>
        await _client.GetFromJsonAsync<JsonElement>($"/v1/webhooks/{endpoint}/deliveries{query}");

    [Test]
    public async Task The_secret_is_shown_once_and_stored_sealed()
    {
        var endpoint = await SubscribeAsync("two_factor.*");
        var get = await _client.GetStringAsync($"/v1/webhooks/{endpoint.Id}");
        var list = await _client.GetStringAsync("/v1/webhooks");
        Assert.Multiple(() =>
        {
            Assert.That(get, Does.Contain(_receiver.Url).And.Contain("two_factor.*").And.Not.Contain(endpoint.Secret).And.Not.Contain("secret"));
            Assert.That(list, Does.Contain(endpoint.Id.ToString()).And.Not.Contain(endpoint.Secret));
        });

        await using var connection = new NpgsqlConnection(_app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select secret from webhook_endpoints where id = @id", connection);
        command.Parameters.AddWithValue("id", endpoint.Id);
        var stored = (byte[])(await command.ExecuteScalarAsync())!;
        Assert.That(Encoding.Latin1.GetString(stored), Does.Not.Contain(endpoint.Secret[6..]).And.Not.Contain("whsec_"));
    }

    [Test]
    public async Task Deleting_an_endpoint_removes_it_and_its_pending_deliveries()
    {
        var endpoint = await SubscribeAsync("*");
        _receiver.AnswerWith(503);
        await Flows.EnableTotpAsync(_app, _client);
        Assert.That((await _client.DeleteAsync($"/v1/webhooks/{endpoint.Id}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var before = _receiver.Received.Count;
        await DrainAsync(_app);
        Assert.That(_receiver.Received, Has.Count.EqualTo(before));
        await ProblemAssert.IsProblemAsync(await _client.GetAsync($"/v1/webhooks/{endpoint.Id}"), (HttpStatusCode)404, "webhook_not_found");
        await ProblemAssert.IsProblemAsync(await _client.DeleteAsync($"/v1/webhooks/{endpoint.Id}"), (HttpStatusCode)404, "webhook_not_found");
        await ProblemAssert.IsProblemAsync(await _client.GetAsync($"/v1/webhooks/{endpoint.Id}/deliveries"), (HttpStatusCode)404, "webhook_not_found");
        Assert.That(await RowsOfAsync(endpoint.Id), Is.EqualTo((0L, 0L)), "no pass held it: the row and its deliveries went at once");
    }

    /// <summary>The endpoint's rows and its deliveries' rows as stored (a deleted endpoint is only marked while a pass holds it).</summary>
    private async Task<(long Endpoints, long Deliveries)> RowsOfAsync(Guid endpointId)
    {
        await using var connection = new NpgsqlConnection(_app.ConnectionString);
        await connection.OpenAsync();
        return await Dapper.SqlMapper.QuerySingleAsync<(long, long)>(connection, """
            select (select count(*) from webhook_endpoints where id = @endpointId), (select count(*) from webhook_deliveries where endpoint_id = @endpointId)
            """, new { endpointId });
    }

    [Test]
    public async Task Registering_and_deleting_an_endpoint_are_audited_with_the_acting_key_and_only_the_host()
    {
        // Where security events go is an admin's decision like a new key: both changes are on the trail, by the key that made them.
        var created = await _client.PostAsJsonAsync("/v1/webhooks", new { url = _receiver.Url + "?token=receiver-s3cret", events = new[] { "two_factor.*" } });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var id = body.GetProperty("id").GetGuid();
        _endpoints.Add(id);
        Assert.That((await _client.DeleteAsync($"/v1/webhooks/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        await using var connection = new NpgsqlConnection(_app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select event_type, api_key_id is not null, user_id is null, details::text from audit_events
            where details->>'endpointId' = @id order by id
            """, connection);
        command.Parameters.AddWithValue("id", id.ToString());
        var rows = new List<(string Type, bool ByKey, bool NoUser, string Details)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetString(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetString(3)));
            }
        }

        Assert.That(rows.Select(r => r.Type), Is.EqualTo(new[] { "webhook_endpoint_created", "webhook_endpoint_deleted" }));
        Assert.That(rows.All(r => r.ByKey && r.NoUser), Is.True);
        var host = new Uri(_receiver.Url).Authority;
        Assert.That(rows.Select(r => r.Details), Has.All.Contain(host).And.All.Not.Contain("receiver-s3cret"));
        Assert.That(rows[0].Details, Does.Contain("two_factor.*"));
    }

    [Test]
    public async Task Changes_that_write_events_while_their_endpoint_is_being_deleted_succeed_without_a_delivery()
    {
        // The delete holds the endpoint's row while a key is created (one event) and a login from a new device is decided (the
        // coalesced batch's outbox CTEs). Once it commits, both changes must succeed: before, the deliveries' foreign key
        // found the endpoint gone and both answered 500, the whole login batch with them.
        var endpoint = await SubscribeAsync("*");
        var user = await Flows.EnableTotpAsync(_app, _client);
        await using var deleting = new NpgsqlConnection(_app.ConnectionString);
        await deleting.OpenAsync();
        await using var transaction = await deleting.BeginTransactionAsync();
        await using (var delete = new NpgsqlCommand("delete from webhook_endpoints where id = @id", deleting, transaction))
        {
            delete.Parameters.AddWithValue("id", endpoint.Id);
            Assert.That(await delete.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }

        var key = _client.PostAsJsonAsync("/v1/api-keys", new { name = "during-delete", scopes = new[] { "verify" } });
        var login = Flows.VerifyAsync(_client, user.UserId, new { code = Flows.Code(user.Secret, _app.Time.GetUtcNow()) });
        await LockWaits.UntilSessionsWaitAsync(_app.ConnectionString, 2);
        await transaction.CommitAsync();

        var created = await key;
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
        var verified = await login;
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK), await verified.Content.ReadAsStringAsync());
    }

    /// <summary>An endpoint deleted while one of its deliveries is being sent to a receiver that hangs. The delete once locked
    /// the endpoint's row and then waited, through the cascade, for the delivery the dispatcher held, and every change writing an
    /// event for that endpoint (a login from a new device) waited behind it; then it waited for the pass before locking anything,
    /// up to <c>Webhooks:Timeout</c> per pass, and answered 503 when that outlasted the command timeout (a receiver that hangs is
    /// why an admin deletes an endpoint). It now only marks the endpoint (migration 0022): it answers at once, holds up no login,
    /// and the row goes at the prune after the pass.</summary>
    [Test]
    public async Task Deleting_an_endpoint_while_its_receiver_hangs_answers_at_once_and_holds_up_nothing()
    {
        var endpoint = await SubscribeAsync("*");
        _receiver.AnswerWith(204);
        _receiver.Hang();
        var arrived = _receiver.NextArrival();
        var user = await Flows.EnableTotpAsync(_app, _client);
        var attempt = Dispatcher(_app).DispatchOnceAsync(CancellationToken.None);
        try
        {
            await arrived.WaitAsync(TimeSpan.FromSeconds(10));
            // The receiver hangs until released (its timeout runs on the fake clock): before, the delete waited for it.
            var delete = await _client.DeleteAsync($"/v1/webhooks/{endpoint.Id}").WaitAsync(TimeSpan.FromSeconds(10));
            Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            await ProblemAssert.IsProblemAsync(await _client.GetAsync($"/v1/webhooks/{endpoint.Id}"), (HttpStatusCode)404, "webhook_not_found");
            Assert.That(await _client.GetStringAsync("/v1/webhooks"), Does.Not.Contain(endpoint.Id.ToString()));

            var login = Flows.VerifyAsync(_client, user.UserId, new { code = Flows.Code(user.Secret, _app.Time.GetUtcNow()) });
            Assert.That((await login.WaitAsync(TimeSpan.FromSeconds(10))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await RowsOfAsync(endpoint.Id)).Endpoints, Is.EqualTo(1), "the pass holds it: only marked");

            _receiver.Release();
            await attempt;
            var received = _receiver.Received.Count;
            await DrainAsync(_app);
            Assert.That(_receiver.Received, Has.Count.EqualTo(received), "nothing more to a deleted endpoint, the login's event neither");
            await Dispatcher(_app).PruneAsync(CancellationToken.None);
            Assert.That(await RowsOfAsync(endpoint.Id), Is.EqualTo((0L, 0L)), "removed at the prune, its deliveries with it");
        }
        finally
        {
            _receiver.Release();
            await attempt;
        }
    }

    [TestCase("""{"url":"https://portal.example.com/h","events":[]}""", "validation_failed")]
    [TestCase("""{"url":"https://portal.example.com/h","events":["two_factor.everything"]}""", "validation_failed")]
    [TestCase("""{"url":"https://portal.example.com/h"}""", "validation_failed")]
    [TestCase("""{"url":"not a url","events":["*"]}""", "invalid_webhook_url")]
    [TestCase("""{"events":["*"]}""", "invalid_webhook_url")]
    [TestCase("""{"url":"file:///etc/passwd","events":["*"]}""", "invalid_webhook_url")]
    [TestCase("""{"url":"https://93.184.215.14/h\u0000x","events":["*"]}""", "invalid_webhook_url")]
    [TestCase("""{"url":"https://93.184.215.14/h\u0007x","events":["*"]}""", "invalid_webhook_url")]
    [TestCase("""{"url":"https://a\u05D0.example/h","events":["*"]}""", "invalid_webhook_url")]
    [TestCase("""{"url":" https://portal.example.com/h","events":["*"]}""", "invalid_webhook_url")]
    [TestCase("""{"url":"https://portal.example.com/h ","events":["*"]}""", "invalid_webhook_url")]
    [TestCase("""{"url":"https://portal.example.com/h","events":["*"],"description":"a\u0000b"}""", "validation_failed")]
    public async Task Invalid_registrations_are_refused_with_a_problem(string json, string code)
    {
        var response = await _client.PostAsync("/v1/webhooks", new StringContent(json, Encoding.UTF8, "application/json"));
        await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)400, code);
    }

    [Test]
    public async Task Only_admin_keys_manage_webhooks()
    {
        using var manage = await _app.ClientWithScopesAsync("manage", "verify");
        Assert.That((await manage.GetAsync("/v1/webhooks")).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((await manage.PostAsJsonAsync("/v1/webhooks", new { url = _receiver.Url, events = new[] { "*" } })).StatusCode,
            Is.EqualTo(HttpStatusCode.Forbidden));
        using var anonymous = _app.CreateClient();
        Assert.That((await anonymous.GetAsync("/v1/webhooks")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    /// <summary>A redelivery asked while the delivery is being sent waits for that attempt, then acts on what it left. It used
    /// to answer 404 <c>delivery_not_found</c> for a delivery that exists, queuing nothing: the update skipped the row the
    /// attempt had just finished, and the copy's select still saw it pending in the statement's snapshot.</summary>
    [Test]
    public async Task A_redelivery_asked_during_an_attempt_queues_a_copy_once_the_attempt_ends()
    {
        var endpoint = await SubscribeAsync("two_factor.enabled");
        _receiver.AnswerWith(204);
        _receiver.Hang();
        var arrived = _receiver.NextArrival();
        await Flows.EnableTotpAsync(_app, _client);
        var attempt = Dispatcher(_app).DispatchOnceAsync(CancellationToken.None);
        await arrived.WaitAsync(TimeSpan.FromSeconds(10));
        var id = (await DeliveriesAsync(endpoint.Id)).GetProperty("items")[0].GetProperty("id").GetInt64();

        var redeliver = _client.PostAsync($"/v1/webhooks/{endpoint.Id}/deliveries/{id}/redeliver", null);
        await LockWaits.UntilSessionsWaitAsync(_app.ConnectionString, 1);
        _receiver.Release();
        await attempt;

        var answer = await redeliver;
        var copy = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), copy.ToString());
        Assert.That(copy.GetProperty("id").GetInt64(), Is.Not.EqualTo(id), "the attempt delivered it: a new delivery of the same event");
        Assert.That(copy.GetProperty("status").GetString(), Is.EqualTo("pending"));
    }

    /// <summary>A redelivery of a finished delivery that the prune deletes at that moment, with its event: the copy's
    /// foreign-key check waited on the prune and then failed, a 500. It is the delivery that is gone: 404.</summary>
    [Test]
    public async Task A_redelivery_of_a_delivery_the_prune_is_deleting_is_a_404_not_a_500()
    {
        var endpoint = await SubscribeAsync("two_factor.enabled");
        _receiver.AnswerWith(204);
        await Flows.EnableTotpAsync(_app, _client);
        await DrainAsync(_app);
        var id = (await DeliveriesAsync(endpoint.Id, "?status=delivered")).GetProperty("items")[0].GetProperty("id").GetInt64();

        // The prune's two deletes, not yet committed (WebhookQueue.PruneOlderThanAsync).
        await using var pruning = new NpgsqlConnection(_app.ConnectionString);
        await pruning.OpenAsync();
        var prune = await pruning.BeginTransactionAsync();
        await using (var delete = new NpgsqlCommand("""
            delete from webhook_events where id = (select event_id from webhook_deliveries where id = @id);
            """, pruning, prune) { Parameters = { new("id", id) } })
        {
            await delete.ExecuteNonQueryAsync(); // its deliveries go with it (on delete cascade), as the prune's first delete takes them
        }

        var redeliver = _client.PostAsync($"/v1/webhooks/{endpoint.Id}/deliveries/{id}/redeliver", null);
        await LockWaits.UntilSessionsWaitAsync(_app.ConnectionString, 1);
        await prune.CommitAsync();

        await ProblemAssert.IsProblemAsync(await redeliver, HttpStatusCode.NotFound, "delivery_not_found");
    }

    /// <summary>A pass that skips a delivery because its endpoint is being deleted must not keep that delivery locked: the
    /// delete's cascade would wait on it, holding the endpoint's row, for as long as another receiver of the pass hangs. With
    /// the delivery's row locked before the endpoint's (the order the claim wrote them), it stayed locked.</summary>
    [Test]
    public async Task A_pass_that_skips_an_endpoint_being_deleted_leaves_its_deliveries_unlocked()
    {
        await using var hanging = await WebhookReceiver.StartAsync();
        var deleted = await SubscribeAsync("two_factor.enabled");
        var slow = await WebhookTesting.SubscribeAsync(_client, hanging, "two_factor.enabled");
        _endpoints.Add(slow.Id);
        hanging.AnswerWith(204);
        hanging.Hang();
        var arrived = hanging.NextArrival();
        await Flows.EnableTotpAsync(_app, _client);

        // The delete, before its cascade: the endpoint's row locked.
        await using var deleting = new NpgsqlConnection(_app.ConnectionString);
        await deleting.OpenAsync();
        await using var delete = await deleting.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("select 1 from webhook_endpoints where id = @id for update", deleting, delete))
        {
            lockRow.Parameters.AddWithValue("id", deleted.Id);
            await lockRow.ExecuteScalarAsync();
        }

        var pass = Dispatcher(_app).DispatchOnceAsync(CancellationToken.None);
        try
        {
            await arrived.WaitAsync(TimeSpan.FromSeconds(10)); // the pass holds the hanging receiver's delivery now
            await using var probe = new NpgsqlConnection(_app.ConnectionString);
            await probe.OpenAsync();
            await using var check = new NpgsqlCommand("select id from webhook_deliveries where endpoint_id = @id for update nowait", probe);
            check.Parameters.AddWithValue("id", deleted.Id);
            Assert.That(async () => await check.ExecuteScalarAsync(), Throws.Nothing, "the skipped endpoint's delivery is still locked by the pass");
        }
        finally
        {
            hanging.Release();
            await pass;
            await delete.RollbackAsync();
        }
    }

    /// <summary>A user's later event waits behind the earlier one its receiver refused: its next try is not before the earlier
    /// one's. It showed its creation time, in the past, for a delivery nothing would try until the earlier one ended.</summary>
    [Test]
    public async Task A_delivery_queued_behind_a_failing_one_shows_the_next_try_of_the_one_ahead()
    {
        var endpoint = await SubscribeAsync("*");
        _receiver.AnswerWith(503);
        var user = await Flows.EnableTotpAsync(_app, _client);
        await DrainAsync(_app);
        (await Flows.VerifyAsync(_client, user.UserId, new { backupCode = user.BackupCodes[0] })).EnsureSuccessStatusCode();
        await DrainAsync(_app);

        var pending = (await DeliveriesAsync(endpoint.Id, "?status=pending")).GetProperty("items").EnumerateArray()
            .Where(d => d.GetProperty("userId").GetString() == user.UserId).OrderBy(d => d.GetProperty("id").GetInt64()).ToList();
        Assert.That(pending, Has.Count.GreaterThanOrEqualTo(2), "the refused head and at least one event behind it");
        var head = pending[0].GetProperty("nextAttemptAt").GetDateTimeOffset();
        Assert.That(head, Is.GreaterThan(_app.Time.GetUtcNow()), "the head is retried later");
        Assert.Multiple(() =>
        {
            foreach (var behind in pending.Skip(1))
            {
                Assert.That(behind.GetProperty("attempts").GetInt32(), Is.Zero);
                Assert.That(behind.GetProperty("nextAttemptAt").GetDateTimeOffset(), Is.GreaterThanOrEqualTo(head), behind.ToString());
            }
        });
    }

    [Test]
    public async Task Deliveries_show_attempts_errors_and_next_try_and_redeliver_sends_the_same_webhook_id()
    {
        var endpoint = await SubscribeAsync("two_factor.enabled");
        _receiver.AnswerWith(503);
        var user = await Flows.EnableTotpAsync(_app, _client);
        await DrainAsync(_app);

        var pending = (await DeliveriesAsync(endpoint.Id)).GetProperty("items")[0];
        Assert.Multiple(() =>
        {
            Assert.That(pending.GetProperty("status").GetString(), Is.EqualTo("pending"));
            Assert.That(pending.GetProperty("attempts").GetInt32(), Is.EqualTo(1));
            Assert.That(pending.GetProperty("lastStatus").GetInt32(), Is.EqualTo(503));
            Assert.That(pending.GetProperty("lastError").GetString(), Is.EqualTo("HTTP 503"));
            Assert.That(pending.GetProperty("userId").GetString(), Is.EqualTo(user.UserId));
            Assert.That(pending.GetProperty("nextAttemptAt").GetDateTimeOffset(), Is.GreaterThan(_app.Time.GetUtcNow()));
        });

        _receiver.AnswerWith(204);
        var id = pending.GetProperty("id").GetInt64();
        var due = await _client.PostAsync($"/v1/webhooks/{endpoint.Id}/deliveries/{id}/redeliver", null);
        Assert.That(due.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        await DrainAsync(_app);
        var delivered = (await DeliveriesAsync(endpoint.Id, "?status=delivered")).GetProperty("items")[0];
        Assert.That(delivered.GetProperty("id").GetInt64(), Is.EqualTo(id), "a pending delivery is simply due at once");
        Assert.That(delivered.GetProperty("nextAttemptAt").ValueKind, Is.EqualTo(JsonValueKind.Null));

        var again = await (await _client.PostAsync($"/v1/webhooks/{endpoint.Id}/deliveries/{id}/redeliver", null)).Content
            .ReadFromJsonAsync<JsonElement>();
        Assert.That(again.GetProperty("id").GetInt64(), Is.Not.EqualTo(id));
        Assert.That(again.GetProperty("webhookId").GetString(), Is.EqualTo(pending.GetProperty("webhookId").GetString()));
        await DrainAsync(_app);
        var arrivals = _receiver.Received.Where(r => r.UserId == user.UserId).ToList();
        Assert.That(arrivals, Has.Count.EqualTo(3), "503, then delivered, then redelivered");
        Assert.That(arrivals.Select(r => r.Id).Distinct().Count(), Is.EqualTo(1));
        Assert.That(arrivals.Select(r => r.SignatureValid), Has.All.True);

        await ProblemAssert.IsProblemAsync(await _client.PostAsync($"/v1/webhooks/{endpoint.Id}/deliveries/999999999/redeliver", null), (HttpStatusCode)404,
            "delivery_not_found");
        await ProblemAssert.IsProblemAsync(await _client.GetAsync($"/v1/webhooks/{endpoint.Id}/deliveries?limit=0"), (HttpStatusCode)400, "validation_failed");
        await ProblemAssert.IsProblemAsync(await _client.GetAsync($"/v1/webhooks/{endpoint.Id}/deliveries?status=lost"), (HttpStatusCode)400, "validation_failed");
    }

    /// <summary>Fail safe: the SSRF defaults are off in every environment but Development, whatever its name, with no
    /// <c>Webhooks:*</c> setting at all; 6to4 and Teredo addresses are refused, naming the IPv4 address they embed.</summary>
    [TestCase("Staging")]
    [TestCase("prod")]
    public async Task Outside_development_the_defaults_refuse_http_private_6to4_and_teredo_urls(string environment)
    {
        using var telnyx = new TelnyxStandIn(); // the log provider is for Development only
        using var app = new AuthApp(telnyx.Settings, environment: environment);
        using var admin = app.AdminClient();
        foreach (var (url, detail) in new[]
                 {
                     (_receiver.Url, "https"), ("http://portal.example.com/hooks", "https"), ("https://127.0.0.1/hooks", "non-public"),
                     ("https://10.0.0.7/hooks", "non-public"), ("https://169.254.169.254/latest", "non-public"),
                     ("https://localhost/hooks", "non-public"), ("https://[fd00::1]/hooks", "non-public"),
                     ("https://[2002:a9fe:a9fe::1]/hooks", "6to4 address embedding 169.254.169.254"),
                     ("https://[2002:808:808::1]/hooks", "6to4 address embedding 8.8.8.8"),
                     ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hooks", "Teredo address embedding client 192.0.2.45"),
                 })
        {
            var response = await admin.PostAsJsonAsync("/v1/webhooks", new { url, events = new[] { "*" } });
            var problem = await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)400, "invalid_webhook_url");
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(detail), url);
        }

        var accepted = await admin.PostAsJsonAsync("/v1/webhooks", new { url = "https://93.184.215.14/hooks", events = new[] { "*" } });
        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Created), await accepted.Content.ReadAsStringAsync());
        _endpoints.Add((await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
    }

    [Test]
    public async Task Production_rules_refuse_http_and_private_addresses_at_registration_and_at_send_time()
    {
        using var strict = new AuthApp(new Dictionary<string, string?>
        {
            ["Webhooks:AllowInsecure"] = "false",
            ["Webhooks:AllowPrivateNetworks"] = "false",
        });
        using var admin = strict.AdminClient();
        foreach (var url in new[] { _receiver.Url, "https://127.0.0.1/hooks", "https://[::1]/hooks", "https://10.0.0.7/hooks",
                     "https://169.254.169.254/latest", "https://localhost/hooks", "https://[::ffff:192.168.0.1]/hooks" })
        {
            var response = await admin.PostAsJsonAsync("/v1/webhooks", new { url, events = new[] { "*" } });
            await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)400, "invalid_webhook_url");
        }

        // As if a public name had been re-pointed at loopback after registration (DNS rebinding): the address the
        // delivery connects to is checked, and refused. (http allowed here, so that only the address decides: an http
        // endpoint with insecure URLs off is refused before any connection, see the next test.)
        await AssertRefusedAtSendTimeAsync(allowInsecure: true, allowPrivateNetworks: false, "non-public address");
    }

    /// <summary>An <c>http://</c> endpoint registered while <c>Webhooks:AllowInsecure</c> was on kept receiving signed events in
    /// clear after it was turned off: the scheme was checked only at registration, unlike the address.</summary>
    [Test]
    public Task An_http_endpoint_gets_nothing_once_insecure_urls_are_off() =>
        AssertRefusedAtSendTimeAsync(allowInsecure: false, allowPrivateNetworks: true, "must be https");

    /// <summary>Under these rules, the (http, loopback) receiver stored as an endpoint registered before they applied, and a
    /// login's event dispatched: nothing may reach the receiver, and the delivery stays pending, refused for <paramref name="reason"/>.</summary>
    private async Task AssertRefusedAtSendTimeAsync(bool allowInsecure, bool allowPrivateNetworks, string reason)
    {
        using var app = new AuthApp(new Dictionary<string, string?>
        {
            ["Webhooks:AllowInsecure"] = allowInsecure ? "true" : "false",
            ["Webhooks:AllowPrivateNetworks"] = allowPrivateNetworks ? "true" : "false",
        });
        using var admin = app.AdminClient();
        var (row, _) = await app.Services.GetRequiredService<RegisterWebhook>().StoreAsync(_receiver.Url, ["*"], null,
            app.Time.GetUtcNow(), null, default);
        _endpoints.Add(row.Id);
        _receiver.AnswerWith(204);
        await Flows.EnableTotpAsync(app, admin);
        var before = _receiver.Received.Count;

        await DrainAsync(app);

        Assert.That(_receiver.Received, Has.Count.EqualTo(before), "nothing reached the receiver");
        var delivery = (await admin.GetFromJsonAsync<JsonElement>($"/v1/webhooks/{row.Id}/deliveries")).GetProperty("items")[0];
        Assert.That(delivery.GetProperty("status").GetString(), Is.EqualTo("pending"));
        Assert.That(delivery.GetProperty("lastError").GetString(), Does.Contain(reason));
    }
}
