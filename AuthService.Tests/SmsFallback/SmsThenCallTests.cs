using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.SmsFallback;

/// <summary>The <c>SmsThenCall</c> fallback (DESIGN §9.5) end to end: codes sent through the Telnyx stand-in under a profile
/// with the fallback, Telnyx's signed <c>message.finalized</c> reports posted back, and what the portal sees — the status's
/// <c>fallback</c>, the <c>two_factor.sms_failed</c> event — and the call it then places through <c>/challenge</c>, under the
/// same budgets as any send.</summary>
public class SmsThenCallTests : AppFixture
{
    private static readonly TelnyxReports Reports = new();

    protected override bool SendsCodes => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Telephony:Telnyx:WebhookPublicKey"] = Reports.PublicKey,
        ["Profiles:acme:Brand"] = "Acme",
        ["Profiles:acme:Fallback"] = "SmsThenCall",
        ["Profiles:abroad:Fallback"] = "SmsThenCall",
        ["Profiles:abroad:AllowedCountries:Call"] = "FR", // texts anywhere, calls only to France
        ["Limits:DailyRequests"] = "4",
    };

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    private async Task<HttpClient> KeyAsync(string? profile)
    {
        var created = await Client.PostAsJsonAsync("/v1/api-keys", new { name = "fallback " + profile, scopes = new[] { "manage", "verify" }, profile });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        return App.ClientWithKey((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
    }

    private async Task<HttpStatusCode> ReportAsync(string messageId, string status)
    {
        using var response = await App.CreateClient().SendAsync(Reports.Request(TelnyxReports.Finalized(messageId, status), Now));
        return response.StatusCode;
    }

    private async Task<JsonElement> StatusAsync(HttpClient client, string userId) =>
        await client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor");

    private async Task<List<JsonElement>> SmsFailedEventsAsync(string userId)
    {
        var events = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor/events?limit=50");
        return events.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("type").GetString() == "sms_failed").ToList();
    }

    private async Task<string> LoginSmsAsync(HttpClient client, Flows.EnabledPhoneUser user)
    {
        var sent = await client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms" });
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await sent.Content.ReadAsStringAsync());
        return TelnyxReports.LastMessageIdTo(Telnyx, user.Phone);
    }

    [Test]
    public async Task A_failed_sms_offers_a_call_which_goes_through_the_usual_challenge()
    {
        using var acme = await KeyAsync("acme");
        var user = await Flows.EnablePhoneAsync(acme, Telnyx, "fallback");
        var messageId = await LoginSmsAsync(acme, user);
        Assert.That((await StatusAsync(acme, user.UserId)).GetProperty("fallback").ValueKind, Is.EqualTo(JsonValueKind.Null), "nothing before a report");

        Assert.That(await ReportAsync(messageId, "delivery_failed"), Is.EqualTo(HttpStatusCode.NoContent));

        var fallback = (await StatusAsync(acme, user.UserId)).GetProperty("fallback");
        Assert.That(fallback.GetProperty("channel").GetString(), Is.EqualTo("call"));
        Assert.That(fallback.GetProperty("purpose").GetString(), Is.EqualTo("login"));
        Assert.That(fallback.GetProperty("offeredAt").GetDateTimeOffset(), Is.EqualTo(Now));
        var audit = (await SmsFailedEventsAsync(user.UserId)).Single().GetProperty("details");
        Assert.That(audit.GetProperty("fallbackOffered").GetString(), Is.EqualTo("call"));
        Assert.That(audit.GetProperty("status").GetString(), Is.EqualTo("delivery_failed"));
        Assert.That(audit.GetProperty("profile").GetString(), Is.EqualTo("acme"), "the profile the SMS was sent under");

        // The portal's Call button: the usual challenge, which replaces the code, so the offer is over.
        var call = await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "call" });
        Assert.That(call.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await call.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(user.Phone)[^1].Channel, Is.EqualTo("call"));
        Assert.That((await StatusAsync(acme, user.UserId)).GetProperty("fallback").ValueKind, Is.EqualTo(JsonValueKind.Null));
        var verified = await Flows.VerifyAsync(acme, user.UserId, new { code = Telnyx.LastCodeTo(user.Phone) });
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>The offer names the phone whose SMS failed, and the call the portal places with that <c>factorId</c> rings it:
    /// without it, <c>/challenge</c> with <c>channel: call</c> rang the default (else the oldest) phone and replaced the other's
    /// code.</summary>
    [Test]
    public async Task The_offer_names_the_phone_whose_sms_failed_and_the_call_rings_that_phone()
    {
        using var acme = await KeyAsync("acme");
        // A TOTP user (the default) with two phones: a call without a factorId goes to the oldest phone, the first.
        var user = await Flows.EnableTotpAsync(App, acme);
        async Task<(string Phone, Guid FactorId)> AddPhoneAsync()
        {
            App.Time.Advance(TimeSpan.FromSeconds(30)); // a fresh TOTP step for each proof
            var phone = TwoFactor.PhoneFactorTests.NewPhone();
            var add = await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/factors",
                new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { code = Flows.Code(user.Secret, Now) } });
            var added = await add.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(add.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), added.ToString());
            var id = added.GetProperty("factorId").GetGuid();
            (await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/factors/{id}/confirm", new { code = Telnyx.LastCodeTo(phone) }))
                .EnsureSuccessStatusCode();
            return (phone, id);
        }

        var (first, _) = await AddPhoneAsync();
        var (second, factorId) = await AddPhoneAsync();

        var sent = await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms", factorId });
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await sent.Content.ReadAsStringAsync());
        Assert.That(await ReportAsync(TelnyxReports.LastMessageIdTo(Telnyx, second), "delivery_failed"), Is.EqualTo(HttpStatusCode.NoContent));

        var fallback = (await StatusAsync(acme, user.UserId)).GetProperty("fallback");
        Assert.That(fallback.GetProperty("factorId").GetGuid(), Is.EqualTo(factorId), "the phone whose SMS failed, not the default");
        var toFirst = Telnyx.DeliveriesTo(first).Count;
        var call = await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge",
            new { channel = "call", factorId = fallback.GetProperty("factorId").GetGuid() });
        Assert.That(call.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await call.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(second)[^1].Channel, Is.EqualTo("call"));
        Assert.That(Telnyx.DeliveriesTo(first), Has.Count.EqualTo(toFirst), "the other phone was not rung");
    }

    /// <summary>The documented Call button for a proof code (docs/OPERATIONS.md, README): <c>/challenge</c> with the offer's
    /// <c>purpose</c> and <c>factorId</c>. The call carries a proof code, which proves the change, and the offer is over. (The docs
    /// once left the purpose out: the call then carried a login code, which proves no change, and the proof's offer stayed.)</summary>
    [Test]
    public async Task A_failed_proof_sms_offers_a_call_that_carries_a_proof_code()
    {
        using var acme = await KeyAsync("acme");
        var user = await Flows.EnablePhoneAsync(acme, Telnyx, "fallback-proof");
        var sent = await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms", purpose = "proof" });
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await sent.Content.ReadAsStringAsync());
        Assert.That(await ReportAsync(TelnyxReports.LastMessageIdTo(Telnyx, user.Phone), "delivery_failed"), Is.EqualTo(HttpStatusCode.NoContent));

        var fallback = (await StatusAsync(acme, user.UserId)).GetProperty("fallback");
        Assert.That(fallback.GetProperty("purpose").GetString(), Is.EqualTo("proof"));
        var call = await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new
        {
            channel = "call",
            purpose = fallback.GetProperty("purpose").GetString(),
            factorId = fallback.GetProperty("factorId").GetGuid(),
        });
        Assert.That(call.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await call.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(user.Phone)[^1].Channel, Is.EqualTo("call"));
        Assert.That((await StatusAsync(acme, user.UserId)).GetProperty("fallback").ValueKind, Is.EqualTo(JsonValueKind.Null), "the offer is over");

        var renewed = await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/backup-codes",
            new { proof = new { code = Telnyx.LastCodeTo(user.Phone) } });
        Assert.That(renewed.StatusCode, Is.EqualTo(HttpStatusCode.Created), await renewed.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_failed_enrollment_sms_offers_a_call_for_the_pending_code()
    {
        using var acme = await KeyAsync("acme");
        var (userId, phone) = (AuthApp.NewUserId("pending"), TwoFactor.PhoneFactorTests.NewPhone());
        var enroll = await acme.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        Assert.That(await ReportAsync(TelnyxReports.LastMessageIdTo(Telnyx, phone), "sending_failed"), Is.EqualTo(HttpStatusCode.NoContent));

        var fallback = (await StatusAsync(acme, userId)).GetProperty("fallback");
        Assert.That(fallback.GetProperty("purpose").GetString(), Is.EqualTo("pending"));
        Assert.That(fallback.GetProperty("factorId").GetGuid(), Is.Not.EqualTo(Guid.Empty), "the pending row the code was sent for");
        Assert.That(fallback.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddMinutes(10)));
        App.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        Assert.That((await StatusAsync(acme, userId)).GetProperty("fallback").ValueKind, Is.EqualTo(JsonValueKind.Null), "the code expired");
    }

    [Test]
    public async Task A_delivered_sms_offers_nothing()
    {
        using var acme = await KeyAsync("acme");
        var user = await Flows.EnablePhoneAsync(acme, Telnyx, "delivered");
        var messageId = await LoginSmsAsync(acme, user);

        Assert.That(await ReportAsync(messageId, "delivered"), Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(await ReportAsync(messageId, "delivery_failed"), Is.EqualTo(HttpStatusCode.NoContent), "a second final status is ignored");

        Assert.That((await StatusAsync(acme, user.UserId)).GetProperty("fallback").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(await SmsFailedEventsAsync(user.UserId), Is.Empty);
    }

    /// <summary>A failed SMS offers nothing under a profile without the fallback, nor, under one with it, to a number calls may
    /// not reach (<c>abroad</c> calls only France): that used to offer a call the portal's button then saw refused with 400
    /// <c>destination_not_allowed</c>.</summary>
    [TestCase(null)]
    [TestCase("abroad")]
    public async Task A_failed_sms_offers_nothing_without_the_fallback_or_a_call_that_may_reach_the_number(string? profile)
    {
        using var client = await KeyAsync(profile);
        var user = await Flows.EnablePhoneAsync(client, Telnyx, profile ?? "plain");
        static double Blocked() => AuthService.Api.Observability.TelephonyMetrics.Sends.WithLabels("blocked", "profile_country", "US").Value +
            AuthService.Api.Observability.TelephonyMetrics.Sends.WithLabels("blocked", "country", "US").Value;
        var blockedBefore = Blocked();
        var messageId = await LoginSmsAsync(client, user);
        // Asking whether a call could follow this SMS refused nothing: no blocked send counted (it was, for every SMS to a
        // country calls may not reach, and logged as a refused call, which is what OPERATIONS tells operators to watch).
        Assert.That(Blocked(), Is.EqualTo(blockedBefore), "an SMS counted as a blocked call");

        Assert.That(await ReportAsync(messageId, "delivery_failed"), Is.EqualTo(HttpStatusCode.NoContent));

        Assert.That((await StatusAsync(client, user.UserId)).GetProperty("fallback").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(await SmsFailedEventsAsync(user.UserId), Is.Empty);
        if (profile is not null)
        {
            await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "call" }),
                HttpStatusCode.BadRequest, "destination_not_allowed");
        }
    }

    [Test]
    public async Task A_report_after_the_code_was_used_or_replaced_offers_nothing_but_is_told()
    {
        using var acme = await KeyAsync("acme");
        var user = await Flows.EnablePhoneAsync(acme, Telnyx, "late");
        var messageId = await LoginSmsAsync(acme, user);
        var verified = await Flows.VerifyAsync(acme, user.UserId, new { code = Telnyx.LastCodeTo(user.Phone) });
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        Assert.That(await ReportAsync(messageId, "delivery_failed"), Is.EqualTo(HttpStatusCode.NoContent));

        Assert.That((await StatusAsync(acme, user.UserId)).GetProperty("fallback").ValueKind, Is.EqualTo(JsonValueKind.Null));
        var told = (await SmsFailedEventsAsync(user.UserId)).Single().GetProperty("details");
        Assert.That(told.TryGetProperty("fallbackOffered", out _), Is.False);
    }

    [Test]
    public async Task The_offered_call_draws_on_the_same_daily_budget()
    {
        using var acme = await KeyAsync("acme");
        var user = await Flows.EnablePhoneAsync(acme, Telnyx, "budget"); // 1 of 4
        await LoginSmsAsync(acme, user);                                   // 2
        await LoginSmsAsync(acme, user);                                   // 3
        var last = await LoginSmsAsync(acme, user);                        // 4: the budget is spent

        Assert.That(await ReportAsync(last, "delivery_failed"), Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That((await StatusAsync(acme, user.UserId)).GetProperty("fallback").GetProperty("channel").GetString(), Is.EqualTo("call"));

        var call = await acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "call" });
        await ProblemAssert.IsProblemAsync(call, HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        Assert.That(Telnyx.DeliveriesTo(user.Phone).Select(d => d.Channel), Has.No.Member("call"), "no call placed");
    }

    /// <summary>Telnyx can report a failure before the send's transaction has remembered the SMS: here the store waits on the
    /// user's lock, which the test holds, while the report arrives. The report used to be dropped (no SMS by that id yet); it
    /// is kept, and applied when the SMS is remembered, so the call is offered all the same, once.</summary>
    [Test]
    public async Task A_failure_reported_before_the_send_was_recorded_still_offers_a_call()
    {
        using var acme = await KeyAsync("acme");
        var user = await Flows.EnablePhoneAsync(acme, Telnyx, "early");
        Task<HttpResponseMessage> challenge;
        await using (var holder = await OpenAsync())
        {
            await using var transaction = await holder.BeginTransactionAsync();
            await Api.Storage.AttemptLedger.LockUserAsync(holder, transaction, user.UserId);
            challenge = acme.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms" });
            await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1); // the SMS is at Telnyx, its code not yet stored
            var messageId = TelnyxReports.LastMessageIdTo(Telnyx, user.Phone);
            Assert.That(await ReportAsync(messageId, "sending_failed"), Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(await ReportAsync(messageId, "sending_failed"), Is.EqualTo(HttpStatusCode.NoContent), "Telnyx's retry of it");
            await transaction.CommitAsync();
        }

        var sent = await challenge;
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await sent.Content.ReadAsStringAsync());
        var fallback = (await StatusAsync(acme, user.UserId)).GetProperty("fallback");
        Assert.That(fallback.GetProperty("channel").GetString(), Is.EqualTo("call"));
        Assert.That(fallback.GetProperty("purpose").GetString(), Is.EqualTo("login"));
        var audit = (await SmsFailedEventsAsync(user.UserId)).Single().GetProperty("details");
        Assert.That(audit.GetProperty("fallbackOffered").GetString(), Is.EqualTo("call"));
        Assert.That(audit.GetProperty("status").GetString(), Is.EqualTo("sending_failed"));
        Assert.That(await ReportAsync(TelnyxReports.LastMessageIdTo(Telnyx, user.Phone), "sending_failed"), Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(await SmsFailedEventsAsync(user.UserId), Has.Count.EqualTo(1), "a later copy of the report changes nothing");
        await using var connection = await OpenAsync();
        await using var kept = new Npgsql.NpgsqlCommand("select count(*) from sms_early_reports where message_id = @id", connection);
        kept.Parameters.AddWithValue("id", TelnyxReports.LastMessageIdTo(Telnyx, user.Phone));
        Assert.That(await kept.ExecuteScalarAsync(), Is.Zero, "the early report was taken out when applied, and the later copy not kept");
    }

    [Test]
    public async Task An_unknown_message_id_or_another_event_type_is_acknowledged_and_changes_nothing()
    {
        Assert.That(await ReportAsync("msg-" + Guid.NewGuid(), "delivery_failed"), Is.EqualTo(HttpStatusCode.NoContent));
        using var sent = await App.CreateClient().SendAsync(Reports.Request(TelnyxReports.Finalized("x", "sent", "message.sent"), Now));
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
    }
}
