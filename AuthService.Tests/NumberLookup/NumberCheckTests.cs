using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Core.Security;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Infrastructure.Contract;
using AuthService.Tests.Webhooks;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.NumberLookup;

/// <summary>The number check before sending (issue 25, DESIGN §9.5) end to end: the real Telnyx adapter asks the stand-in's
/// Number Lookup, the answer is cached a day in PostgreSQL under the number's keyed hash, and the profile's policy refuses VoIP
/// (SMS, or both channels) and recent ports with 403 <c>number_risk</c>, before anything is reserved or sent. FailMode open.</summary>
public class NumberCheckTests : AppFixture
{
    protected override bool SendsCodes => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["NumberLookup:Enabled"] = "true",
        ["Profiles:strict:VoipPolicy"] = "Refuse",
        ["Profiles:lenient:VoipPolicy"] = "Allow",
    };

    private DateOnly Today => DateOnly.FromDateTime(Now.UtcDateTime);

    [OneTimeSetUp]
    public async Task ForgetEarlierAnswers()
    {
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync("delete from number_lookups"); // the fake clock starts at the same moment in every run
    }

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    private Task<HttpResponseMessage> EnrollAsync(HttpClient client, string userId, string phone, string channel = "sms") =>
        client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel });

    private async Task<HttpClient> KeyAsync(string profile)
    {
        var created = await Client.PostAsJsonAsync("/v1/api-keys", new { name = "number " + profile, scopes = new[] { "manage", "verify" }, profile });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        return App.ClientWithKey((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
    }

    private async Task<long> DeliveriesOfAsync(string userId)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId });
    }

    private async Task<JsonElement> LastEventAsync(string userId, string type)
    {
        await using var connection = await OpenAsync();
        var details = await connection.QuerySingleAsync<string>(
            "select details::text from audit_events where user_id = @userId and event_type = @type order by id desc limit 1", new { userId, type });
        return JsonDocument.Parse(details).RootElement;
    }

    [Test]
    public async Task A_mobile_number_is_looked_up_once_cached_under_its_keyed_hash_and_sent_to()
    {
        var (userId, phone) = (AuthApp.NewUserId("mobile"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "mobile");

        var enroll = await EnrollAsync(Client, userId, phone);

        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(1));
        var lookup = NumberLookupStandIn.Lookups(Telnyx.Server, phone).Single().RequestMessage;
        Assert.That(lookup.Query!["type"].ToString(), Is.EqualTo("carrier"));
        Assert.That(lookup.Headers!["Authorization"].ToString(), Is.EqualTo("Bearer KEY-standin"));

        var hash = App.Services.GetRequiredService<SecretBox>().PhoneLookupHash(phone);
        await using var connection = await OpenAsync();
        var row = await connection.QuerySingleAsync<(string LineType, DateTime? PortedAt, DateTime LookedUpAt)>(
            "select line_type, ported_at, looked_up_at from number_lookups where phone_hash = @hash", new { hash });
        Assert.That((row.LineType, row.PortedAt, new DateTimeOffset(row.LookedUpAt, TimeSpan.Zero)), Is.EqualTo(("mobile", (DateTime?)null, Now)));
        var table = string.Join("\n", await connection.QueryAsync<string>("select row_to_json(n)::text from number_lookups n"));
        Assert.That(table, Does.Not.Contain(phone[1..]).And.Not.Contain(phone[^7..]), "the number is never in clear in the cache");
        using var anonymous = App.CreateClient();
        Assert.That(await anonymous.GetStringAsync("/metrics"), Does.Contain("authservice_number_lookups_total{outcome=\"ok\"}")
            .And.Contain("authservice_number_checks_total{result=\"allowed\",source=\"lookup\"}"));
    }

    [Test]
    public async Task Two_instances_racing_on_an_unknown_number_look_it_up_at_most_twice_and_keep_one_row()
    {
        var phone = NumberLookupStandIn.NewPhone();
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "mobile");
        var settings = new Dictionary<string, string?>(Telnyx.Settings);
        foreach (var (key, value) in Settings)
            settings[key] = value;
        using var other = new AuthApp(settings);
        other.Time.SetUtcNow(Now);
        using var otherClient = other.AdminClient();

        var answers = await Task.WhenAll(EnrollAsync(Client, AuthApp.NewUserId("race"), phone), EnrollAsync(otherClient, AuthApp.NewUserId("race"), phone));

        Assert.That(answers.Select(a => a.StatusCode), Is.All.EqualTo(HttpStatusCode.Accepted));
        Assert.That(NumberLookupStandIn.Lookups(Telnyx.Server, phone), Has.Count.InRange(1, 2), "an upsert, no lock: a race costs a second lookup at most");
        var hash = App.Services.GetRequiredService<SecretBox>().PhoneLookupHash(phone);
        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from number_lookups where phone_hash = @hash", new { hash }), Is.EqualTo(1));
    }

    [Test]
    public async Task A_cached_answer_serves_24_hours_without_a_lookup_then_the_number_is_looked_up_again()
    {
        var (userId, phone) = (AuthApp.NewUserId("cache"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "mobile");
        (await EnrollAsync(Client, userId, phone)).EnsureSuccessStatusCode();
        (await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(phone) })).EnsureSuccessStatusCode();

        App.Time.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        var withinADay = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel = "sms" });
        Assert.That(withinADay.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(NumberLookupStandIn.Lookups(Telnyx.Server, phone), Has.Count.EqualTo(1), "the cached answer is used: no lookup");

        App.Time.Advance(TimeSpan.FromSeconds(1)); // exactly 24 h (NumberLookupSettings.CacheAge): stale
        var nextDay = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel = "call" });
        Assert.That(nextDay.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(NumberLookupStandIn.Lookups(Telnyx.Server, phone), Has.Count.EqualTo(2), "a stale answer is looked up again");
        Assert.That(Telnyx.DeliveriesTo(phone).Select(d => d.Channel), Is.EqualTo(new[] { "sms", "sms", "call" }));
    }

    /// <summary>The daily refresh of a VoIP number fails (fail open, the default): the last answer still refuses the SMS, where
    /// it was dropped and the SMS sent unchecked; the call, which that answer allows, is the fail mode's and goes.</summary>
    [Test]
    public async Task A_refresh_that_fails_keeps_the_last_answers_refusal()
    {
        var (userId, phone) = (AuthApp.NewUserId("stale"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "voip");
        var enrolled = await EnrollAsync(Client, userId, phone, "call");
        Assert.That(enrolled.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enrolled.Content.ReadAsStringAsync());
        (await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(phone) })).EnsureSuccessStatusCode();

        App.Time.Advance(TimeSpan.FromHours(25));
        NumberLookupStandIn.Fail(Telnyx.Server, phone, 500, overriding: true);
        var sms = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel = "sms" });

        await ProblemAssert.IsProblemAsync(sms, HttpStatusCode.Forbidden, "number_risk");
        Assert.That(NumberLookupStandIn.Lookups(Telnyx.Server, phone), Has.Count.EqualTo(2), "the day-old answer was looked up again");
        var risk = await LastEventAsync(userId, "number_risk");
        Assert.That(risk.GetProperty("reason").GetString(), Is.EqualTo("voip"));
        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor");
        Assert.That(risk.GetProperty("factorId").GetString(), Is.EqualTo(status.GetProperty("factors")[0].GetProperty("id").GetString()),
            "a refused challenge names its factor");
        var call = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel = "call" });
        Assert.That(call.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await call.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone).Select(d => d.Channel), Is.EqualTo(new[] { "call", "call" }));
    }

    [Test]
    public async Task A_voip_number_gets_no_sms_but_a_call_under_the_default_CallOnly_policy()
    {
        var (userId, phone) = (AuthApp.NewUserId("voip"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "voip");

        var sms = await EnrollAsync(Client, userId, phone);

        var problem = await ProblemAssert.IsProblemAsync(sms, HttpStatusCode.Forbidden, "number_risk");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("VoIP"));
        Assert.That(Telnyx.DeliveriesTo(phone), Is.Empty);
        Assert.That(await DeliveriesOfAsync(userId), Is.EqualTo(1), "the request cost a paid lookup: it counts like the send it was");
        var audit = await LastEventAsync(userId, "number_risk");
        Assert.That(audit.GetProperty("reason").GetString(), Is.EqualTo("voip"));
        Assert.That(audit.GetProperty("profile").GetString(), Is.EqualTo("default"));
        Assert.That(audit.GetProperty("phoneNumber").GetString(), Is.EqualTo("+1******" + phone[^4..]));
        Assert.That(audit.TryGetProperty("factorId", out _), Is.False, "a refused enrollment has no factor yet");

        var call = await EnrollAsync(Client, userId, phone, "call");
        Assert.That(call.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await call.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone).Single().Channel, Is.EqualTo("call"));
        Assert.That(NumberLookupStandIn.Lookups(Telnyx.Server, phone), Has.Count.EqualTo(1));
    }

    /// <summary>Each refusal that took a paid lookup keeps its reservation, so a user cannot have new numbers looked up without
    /// limit: the daily budget stops the eleventh before it costs a lookup. A refusal from the cache costs nothing and counts
    /// nothing. (Every refusal gave its reservation back, so a loop of new VoIP numbers ran one paid lookup each, unbounded.)</summary>
    [Test]
    public async Task Refusals_that_cost_a_lookup_count_against_the_daily_budget_and_cached_ones_do_not()
    {
        var userId = AuthApp.NewUserId("lookups");
        var phones = Enumerable.Range(0, 11).Select(_ => NumberLookupStandIn.NewPhone()).ToList();
        foreach (var phone in phones)
        {
            NumberLookupStandIn.Answer(Telnyx.Server, phone, "voip");
        }

        for (var i = 0; i < 10; i++)
        {
            await ProblemAssert.IsProblemAsync(await EnrollAsync(Client, userId, phones[i]), HttpStatusCode.Forbidden, "number_risk");
        }

        await ProblemAssert.IsProblemAsync(await EnrollAsync(Client, userId, phones[10]), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        Assert.That(NumberLookupStandIn.Lookups(Telnyx.Server, phones[10]), Is.Empty, "the budget refused the eleventh before its lookup");
        Assert.That(await DeliveriesOfAsync(userId), Is.EqualTo(10));

        var other = AuthApp.NewUserId("lookups");
        await ProblemAssert.IsProblemAsync(await EnrollAsync(Client, other, phones[0]), HttpStatusCode.Forbidden, "number_risk");
        Assert.That(NumberLookupStandIn.Lookups(Telnyx.Server, phones[0]), Has.Count.EqualTo(1), "answered from the cache");
        Assert.That(await DeliveriesOfAsync(other), Is.Zero, "a refusal from the cache costs nothing and counts nothing");
        Assert.That(Telnyx.DeliveriesTo(phones[0]), Is.Empty);
    }

    /// <summary>A send that fails after a paid lookup keeps its reservation too. It was given back with the failed send's, so a
    /// request whose send fails without sending (Telnyx rejecting the message, a call where voice is not set up) bought one paid
    /// lookup each, without limit.</summary>
    [Test]
    public async Task A_send_that_fails_after_a_paid_lookup_still_counts_against_the_daily_budget()
    {
        var userId = AuthApp.NewUserId("lookups");
        var phones = Enumerable.Range(0, 11).Select(_ => NumberLookupStandIn.NewPhone()).ToList();
        Telnyx.Fail(422); // every message refused: nothing sent (lookups are GETs, answered below)
        foreach (var phone in phones)
        {
            NumberLookupStandIn.Answer(Telnyx.Server, phone, "mobile");
        }

        for (var i = 0; i < 10; i++)
        {
            var failed = await EnrollAsync(Client, userId, phones[i]);
            Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), await failed.Content.ReadAsStringAsync());
        }

        await ProblemAssert.IsProblemAsync(await EnrollAsync(Client, userId, phones[10]), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        Assert.That(NumberLookupStandIn.Lookups(Telnyx.Server, phones[10]), Is.Empty, "the budget refused the eleventh before its lookup");
        Assert.That(phones.Take(10).Sum(p => NumberLookupStandIn.Lookups(Telnyx.Server, p).Count), Is.EqualTo(10));
    }

    [Test]
    public async Task A_Refuse_profile_refuses_both_channels_and_an_Allow_profile_sends()
    {
        var phone = NumberLookupStandIn.NewPhone();
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "voip");
        using var strict = await KeyAsync("strict");
        using var lenient = await KeyAsync("lenient");

        await ProblemAssert.IsProblemAsync(await EnrollAsync(strict, AuthApp.NewUserId("strict"), phone, "call"), HttpStatusCode.Forbidden, "number_risk");
        var userId = AuthApp.NewUserId("strict");
        await ProblemAssert.IsProblemAsync(await EnrollAsync(strict, userId, phone), HttpStatusCode.Forbidden, "number_risk");
        Assert.That((await LastEventAsync(userId, "number_risk")).GetProperty("profile").GetString(), Is.EqualTo("strict"));

        var allowed = await EnrollAsync(lenient, AuthApp.NewUserId("lenient"), phone);
        Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await allowed.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_number_ported_within_seven_days_is_refused_and_sent_to_once_the_port_is_older()
    {
        var (userId, phone, oldPort) = (AuthApp.NewUserId("port"), NumberLookupStandIn.NewPhone(), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "mobile", Today.AddDays(-3));
        NumberLookupStandIn.Answer(Telnyx.Server, oldPort, "mobile", Today.AddDays(-30));

        var refused = await ProblemAssert.IsProblemAsync(await EnrollAsync(Client, userId, phone, "call"), HttpStatusCode.Forbidden, "number_risk");
        Assert.That(refused.GetProperty("detail").GetString(), Does.Contain("within the last 7 days"), "the window that applies, not \"a few days\"");
        var audit = await LastEventAsync(userId, "number_risk");
        Assert.That((audit.GetProperty("reason").GetString(), audit.GetProperty("portedAt").GetString()),
            Is.EqualTo(("recent_port", $"{Today.AddDays(-3):yyyy-MM-dd}")));
        Assert.That(Telnyx.DeliveriesTo(phone), Is.Empty);
        Assert.That((await EnrollAsync(Client, AuthApp.NewUserId("port"), oldPort)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        App.Time.Advance(TimeSpan.FromDays(5)); // the port is 8 days old now
        Assert.That((await EnrollAsync(Client, userId, phone)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
    }

    [Test]
    public async Task Adding_a_phone_factor_is_checked_too()
    {
        var (userId, phone) = (AuthApp.NewUserId("factor"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "voip");

        var added = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/factors", new { method = "phone", phoneNumber = phone, channel = "sms" });

        await ProblemAssert.IsProblemAsync(added, HttpStatusCode.Forbidden, "number_risk");
        Assert.That(Telnyx.DeliveriesTo(phone), Is.Empty);
    }

    [Test]
    public async Task A_switch_to_a_refused_number_keeps_the_proof()
    {
        var (userId, phone, voip) = (AuthApp.NewUserId("switch"), NumberLookupStandIn.NewPhone(), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "mobile");
        NumberLookupStandIn.Answer(Telnyx.Server, voip, "voip");
        (await EnrollAsync(Client, userId, phone)).EnsureSuccessStatusCode();
        var confirmed = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(phone) });
        var backupCode = (await confirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("backupCodes")[0].GetString();

        var switched = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/switch-method",
            new { method = "phone", phoneNumber = voip, channel = "sms", proof = new { backupCode } });

        await ProblemAssert.IsProblemAsync(switched, HttpStatusCode.Forbidden, "number_risk");
        Assert.That(Telnyx.DeliveriesTo(voip), Is.Empty);
        var left = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor/backup-codes");
        Assert.That(left.GetProperty("remaining").GetInt32(), Is.EqualTo(10), "the refused switch did not spend its proof");
    }

    [Test]
    public async Task A_failed_lookup_sends_anyway_in_fail_open_mode_and_audits_the_skipped_check()
    {
        var (userId, phone) = (AuthApp.NewUserId("open"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Fail(Telnyx.Server, phone, 503);

        var enroll = await EnrollAsync(Client, userId, phone);

        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(1));
        var audit = await LastEventAsync(userId, "number_check_unavailable");
        Assert.That((audit.GetProperty("failMode").GetString(), audit.GetProperty("reason").GetString()), Is.EqualTo(("open", "http_error")));
        await using var connection = await OpenAsync();
        var hash = App.Services.GetRequiredService<SecretBox>().PhoneLookupHash(phone);
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from number_lookups where phone_hash = @hash", new { hash }), Is.Zero,
            "a failure is not cached: the next send asks again");
    }

    [Test]
    public async Task A_refusal_becomes_the_webhook_two_factor_number_risk_with_the_masked_number_and_the_profile()
    {
        var (userId, phone) = (AuthApp.NewUserId("hook"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "voip");
        var endpoint = await WebhookTesting.CreateEndpointAsync(Client, Telnyx.Server.Url + "/hooks", "two_factor.number_risk");
        try
        {
            await ProblemAssert.IsProblemAsync(await EnrollAsync(Client, userId, phone), HttpStatusCode.Forbidden, "number_risk");

            await using var connection = await OpenAsync();
            var body = await connection.QuerySingleAsync<string>("select body from webhook_events where user_id = @userId", new { userId });
            var data = JsonDocument.Parse(body).RootElement.GetProperty("data");
            Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("type").GetString(), Is.EqualTo("two_factor.number_risk"));
            Assert.That((data.GetProperty("reason").GetString(), data.GetProperty("channel").GetString(), data.GetProperty("profile").GetString(),
                data.GetProperty("lineType").GetString()), Is.EqualTo(("voip", "sms", "default", "voip")));
            Assert.That(data.GetProperty("phoneNumber").GetString(), Is.EqualTo("+1******" + phone[^4..]));
            Assert.That(body, Does.Not.Contain(phone[1..]));
        }
        finally
        {
            await WebhookTesting.DeleteEndpointsAsync(App.ConnectionString, endpoint.Id);
        }
    }

    /// <summary>The refusal's audit row and its <c>two_factor.number_risk</c> webhook event commit together or not at all: a
    /// trigger makes the event's insert fail for this one user, and no audit row may be left without its event (they were two
    /// statements, each committed on its own).</summary>
    [Test]
    public async Task A_refusal_whose_webhook_event_cannot_be_written_leaves_no_audit_row_without_it()
    {
        var (userId, phone) = (AuthApp.NewUserId("atomic"), NumberLookupStandIn.NewPhone());
        NumberLookupStandIn.Answer(Telnyx.Server, phone, "voip");
        var endpoint = await WebhookTesting.CreateEndpointAsync(Client, Telnyx.Server.Url + "/hooks", "two_factor.number_risk");
        var function = "fail_event_" + Guid.NewGuid().ToString("N");
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync($"""
            create function {function}() returns trigger language plpgsql as $$
            begin
                if new.user_id = '{userId}' then raise exception 'webhook event refused by the test'; end if;
                return new;
            end $$;
            create trigger {function} before insert on webhook_events for each row execute function {function}();
            """);
        try
        {
            HttpResponseMessage enroll;
            using (ContractCheck.Relax(Relaxation.Skip, "a trigger planted by the test makes the database fail the request"))
            {
                enroll = await EnrollAsync(Client, userId, phone);
            }

            Assert.That(enroll.IsSuccessStatusCode, Is.False, "the event could not be written");

            Assert.That(await connection.ExecuteScalarAsync<long>(
                "select count(*) from audit_events where user_id = @userId and event_type = 'number_risk'", new { userId }), Is.Zero,
                "an audit row committed without its webhook event");
        }
        finally
        {
            await connection.ExecuteAsync($"drop trigger {function} on webhook_events; drop function {function}();");
            await WebhookTesting.DeleteEndpointsAsync(App.ConnectionString, endpoint.Id);
        }
    }
}
