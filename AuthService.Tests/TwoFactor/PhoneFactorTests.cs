using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Dapper;

namespace AuthService.Tests.TwoFactor;

/// <summary>The portal's SMS and Call buttons end to end: the real Telnyx adapter talks to a loopback stand-in,
/// and the tests read the codes from what the stand-in received.</summary>
public class PhoneFactorTests : AppFixture
{
    protected override bool SendsCodes => true;

    private static int _phoneSequence;

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    /// <summary>Distinct valid US numbers so the per-number budget of one test never touches another.</summary>
    public static string NewPhone() => $"+1303555{Interlocked.Increment(ref _phoneSequence) % 10000:D4}";

    private async Task<(string UserId, string Phone, IReadOnlyList<string> BackupCodes)> EnablePhoneAsync(string channel = "sms")
    {
        var userId = AuthApp.NewUserId("phone");
        var phone = NewPhone();
        var enroll = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel });
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync());
        var confirm = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(phone) });
        var body = await confirm.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        return (userId, phone, body.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!).ToList());
    }

    private Task<HttpResponseMessage> ChallengeAsync(string userId, string channel, string? idempotencyKey = null, string purpose = "login")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/users/{userId}/two-factor/challenge")
        {
            Content = JsonContent.Create(new { channel, purpose }),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return Client.SendAsync(request);
    }

    [Test]
    public async Task Enrolling_by_sms_sends_the_code_and_confirming_enables_the_factor()
    {
        var userId = AuthApp.NewUserId("phone");
        var phone = NewPhone();
        var enroll = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
        var started = await enroll.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), started.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(started.GetProperty("phoneNumber").GetString(), Is.EqualTo("+1******" + phone[^4..]));
            Assert.That(started.GetProperty("channel").GetString(), Is.EqualTo("sms"));
            Assert.That(started.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddMinutes(10)));
            Assert.That(started.ToString(), Does.Not.Contain(phone));
        });

        var delivery = Telnyx.DeliveriesTo(phone).Single();
        Assert.That(delivery.Channel, Is.EqualTo("sms"));
        var code = TelnyxStandIn.CodeIn(delivery.Body);
        Assert.That(JsonDocument.Parse(delivery.Body).RootElement.GetProperty("text").GetString(),
            Is.EqualTo($"Your AuthService verification code is {code}. It expires in 10 minutes."));

        var confirm = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code });
        var confirmed = await confirm.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), confirmed.ToString());
        Assert.That(confirmed.GetProperty("method").GetString(), Is.EqualTo("phone"));
        Assert.That(confirmed.GetProperty("backupCodes").GetArrayLength(), Is.EqualTo(10));

        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor");
        Assert.That(status.GetProperty("phoneNumber").GetString(), Is.EqualTo("+1******" + phone[^4..]));
        Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("phone"));
    }

    [TestCase("3035550123", "invalid_phone_number")]
    [TestCase("+1303555012", "invalid_phone_number")]
    [TestCase("+1 303 CALL NOW", "invalid_phone_number")]
    [TestCase("+99912345678", "invalid_phone_number")]
    public async Task Invalid_numbers_are_refused_and_nothing_is_sent(string phoneNumber, string code)
    {
        var before = Telnyx.RequestCount;
        var response = await Client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/enroll",
            new { method = "phone", phoneNumber, channel = "sms" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, code);
        Assert.That(Telnyx.RequestCount, Is.EqualTo(before));
    }

    [Test]
    public async Task Phone_enrollment_needs_a_channel()
    {
        var response = await Client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/enroll",
            new { method = "phone", phoneNumber = NewPhone(), channel = "fax" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
    }

    [TestCase("sms")]
    [TestCase("call")]
    public async Task Login_code_by_sms_or_call_verifies_once(string channel)
    {
        var user = await EnablePhoneAsync();
        var challenge = await ChallengeAsync(user.UserId, channel);
        var body = await challenge.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
        Assert.That(body.GetProperty("channel").GetString(), Is.EqualTo(channel));
        Assert.That(Telnyx.DeliveriesTo(user.Phone)[^1].Channel, Is.EqualTo(channel));
        var code = Telnyx.LastCodeTo(user.Phone);

        var verify = await Flows.VerifyAsync(Client, user.UserId, new { code });
        var verified = await verify.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(verify.StatusCode, Is.EqualTo(HttpStatusCode.OK), verified.ToString());
        Assert.That(verified.GetProperty("method").GetString(), Is.EqualTo("phone"));

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Voice_call_speaks_the_digits_twice()
    {
        var user = await EnablePhoneAsync();
        (await ChallengeAsync(user.UserId, "call")).EnsureSuccessStatusCode();
        var (channel, body) = Telnyx.DeliveriesTo(user.Phone)[^1];
        var texml = JsonDocument.Parse(body).RootElement.GetProperty("Texml").GetString()!;
        var spoken = string.Join(", ", TelnyxStandIn.CodeIn(body).ToCharArray());

        Assert.That(channel, Is.EqualTo("call"));
        Assert.That(texml.Split(spoken).Length - 1, Is.EqualTo(2), texml);
    }

    [Test]
    public async Task A_new_challenge_kills_the_previous_code()
    {
        var user = await EnablePhoneAsync();
        (await ChallengeAsync(user.UserId, "sms")).EnsureSuccessStatusCode();
        var first = Telnyx.LastCodeTo(user.Phone);
        (await ChallengeAsync(user.UserId, "call")).EnsureSuccessStatusCode();
        var second = Telnyx.LastCodeTo(user.Phone);
        Assume.That(second, Is.Not.EqualTo(first));

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = first }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = second })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Login_code_expires_after_ten_minutes()
    {
        var user = await EnablePhoneAsync();
        (await ChallengeAsync(user.UserId, "sms")).EnsureSuccessStatusCode();
        var code = Telnyx.LastCodeTo(user.Phone);
        App.Time.Advance(TimeSpan.FromMinutes(10));

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Code_just_inside_ten_minutes_still_works()
    {
        var user = await EnablePhoneAsync();
        (await ChallengeAsync(user.UserId, "sms")).EnsureSuccessStatusCode();
        var code = Telnyx.LastCodeTo(user.Phone);
        App.Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_code_dies_after_five_wrong_attempts()
    {
        var user = await EnablePhoneAsync();
        (await ChallengeAsync(user.UserId, "sms")).EnsureSuccessStatusCode();
        var code = Telnyx.LastCodeTo(user.Phone);
        var wrong = code == "000000" ? "111111" : "000000";
        for (var i = 0; i < 5; i++)
        {
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = wrong }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
        }

        App.Time.Advance(TimeSpan.FromSeconds(61)); // past the per-minute limit: only the per-code limit is left
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Four_wrong_attempts_leave_the_code_usable()
    {
        var user = await EnablePhoneAsync();
        (await ChallengeAsync(user.UserId, "sms")).EnsureSuccessStatusCode();
        var code = Telnyx.LastCodeTo(user.Phone);
        var wrong = code == "000000" ? "111111" : "000000";
        for (var i = 0; i < 4; i++)
        {
            await Flows.VerifyAsync(Client, user.UserId, new { code = wrong });
        }

        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Totp_users_get_no_challenge()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var noPhone = await ProblemAssert.IsProblemAsync(await ChallengeAsync(user.UserId, "sms"), HttpStatusCode.Conflict, "no_challenge_for_method");
        Assert.That(noPhone.GetProperty("detail").GetString(), Does.Contain("phone").And.Contain("authenticator-app"));
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(AuthApp.NewUserId(), "sms"), HttpStatusCode.Conflict, "two_factor_not_enabled");
    }

    [Test]
    public async Task Retried_challenge_with_the_same_idempotency_key_sends_one_sms()
    {
        var user = await EnablePhoneAsync();
        var before = Telnyx.DeliveriesTo(user.Phone).Count;
        var key = Guid.NewGuid().ToString();

        var first = await ChallengeAsync(user.UserId, "sms", key);
        var retries = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => ChallengeAsync(user.UserId, "sms", key)));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        foreach (var retry in retries)
        {
            Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(await retry.Content.ReadAsStringAsync(), Is.EqualTo(await first.Content.ReadAsStringAsync()));
        }

        Assert.That(Telnyx.DeliveriesTo(user.Phone).Count - before, Is.EqualTo(1));
        (await ChallengeAsync(user.UserId, "sms", Guid.NewGuid().ToString())).EnsureSuccessStatusCode();
        Assert.That(Telnyx.DeliveriesTo(user.Phone).Count - before, Is.EqualTo(2), "a new key sends a new code");
    }

    [Test]
    public async Task A_failed_challenge_releases_its_idempotency_key_so_the_retry_sends()
    {
        var user = await EnablePhoneAsync();
        var key = Guid.NewGuid().ToString();
        Telnyx.Fail(503);
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(user.UserId, "sms", key), HttpStatusCode.ServiceUnavailable, "telephony_unavailable");

        Telnyx.Succeed();
        var retry = await ChallengeAsync(user.UserId, "sms", key);
        Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await retry.Content.ReadAsStringAsync());
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Telnyx.LastCodeTo(user.Phone) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>Telnyx took the SMS (or may have: a 500), then the transaction that records it failed (a failover, a lock or
    /// pool timeout), so the code will never work. The key used to be released, and the client's retry sent a second SMS at
    /// once. Now the claim stays until it lapses: the retry sends nothing (409), and after the lease a fresh code that works.</summary>
    [TestCase(200, "phone_codes")] // sent, its code not stored
    [TestCase(500, "audit_events")] // may have gone out, the failure not recorded
    public async Task A_send_whose_record_failed_keeps_its_idempotency_key(int telnyxStatus, string failingTable)
    {
        var user = await EnablePhoneAsync();
        var key = Guid.NewGuid().ToString();
        if (telnyxStatus != 200)
        {
            Telnyx.Fail(telnyxStatus); // (clears the stand-in's log)
        }

        var before = Telnyx.DeliveriesTo(user.Phone).Count;
        // A transient failure (40001) of this user's rows only, as a failover would give; other tests are untouched.
        await using (await FailingWrites.OnAsync(App.ConnectionString, failingTable, $"r.user_id = '{user.UserId}'", "insert or update"))
        {
            await ProblemAssert.IsProblemAsync(await ChallengeAsync(user.UserId, "sms", key), HttpStatusCode.ServiceUnavailable, "database_unavailable");
        }

        Assert.That(Telnyx.DeliveriesTo(user.Phone).Count - before, Is.EqualTo(1), "Telnyx got the first SMS");
        var retry = await ChallengeAsync(user.UserId, "sms", key);
        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.Conflict, "idempotency_key_in_use");
        Assert.That(retry.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(5)), "asked again every 5 s until the claim lapses");
        Assert.That(Telnyx.DeliveriesTo(user.Phone).Count - before, Is.EqualTo(1), "the retry sent nothing");

        Telnyx.Succeed();
        App.Time.Advance(IdempotencyStore.Lease);
        var later = await ChallengeAsync(user.UserId, "sms", key);
        Assert.That(later.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await later.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(1), "a fresh code once the claim lapsed");
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Telnyx.LastCodeTo(user.Phone) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task An_idempotency_key_expires_after_a_day()
    {
        var user = await EnablePhoneAsync();
        var key = Guid.NewGuid().ToString();
        (await ChallengeAsync(user.UserId, "sms", key)).EnsureSuccessStatusCode();
        var sent = Telnyx.DeliveriesTo(user.Phone).Count;

        App.Time.Advance(TimeSpan.FromHours(23));
        (await ChallengeAsync(user.UserId, "sms", key)).EnsureSuccessStatusCode();
        Assert.That(Telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(sent), "within a day: replayed, nothing sent");

        App.Time.Advance(TimeSpan.FromHours(1));
        (await ChallengeAsync(user.UserId, "sms", key)).EnsureSuccessStatusCode();
        Assert.That(Telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(sent + 1), "after a day the key is new again");
    }

    [Test]
    public async Task A_malformed_idempotency_key_is_refused()
    {
        var user = await EnablePhoneAsync();
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(user.UserId, "sms", new string('k', 129)), HttpStatusCode.BadRequest, "validation_failed");
    }

    /// <summary>Also the delivery metric: a send that surely did not go out is <c>failed</c>, not <c>sent</c> nor <c>unknown</c>
    /// (the one OPERATIONS.md alerts on).</summary>
    [TestCase(503, HttpStatusCode.ServiceUnavailable)]
    [TestCase(429, HttpStatusCode.ServiceUnavailable)]
    [TestCase(400, HttpStatusCode.BadGateway)]
    public async Task Provider_failure_is_a_clear_problem_and_leaves_no_usable_challenge(int providerStatus, HttpStatusCode expected)
    {
        var user = await EnablePhoneAsync();
        (await ChallengeAsync(user.UserId, "sms")).EnsureSuccessStatusCode();
        var earlier = Telnyx.LastCodeTo(user.Phone);
        Telnyx.Fail(providerStatus);

        var before = await Scrape.TakeAsync(App);
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(user.UserId, "sms"), expected, "telephony_unavailable");
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, SmsDeliveries("failed")), Is.EqualTo(1));
            Assert.That(after.Since(before, SmsDeliveries("unknown")), Is.Zero);
            Assert.That(after.Since(before, SmsDeliveries("sent")), Is.Zero);
        });

        Telnyx.Succeed();
        // The failed challenge stored nothing: the code sent before it still stands.
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = earlier })).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // The budget is given back: the message surely did not go out (429/503/4xx).
        Assert.That(await DeliveriesOfAsync(user.UserId), Is.EqualTo(2));
    }

    /// <summary>After a 500/504 Telnyx may have queued the message (DESIGN §8.2): the client is told the outcome is unknown,
    /// the delivery stays counted (provider errors must not become a way to pump SMS), and the code it carried works if
    /// it arrives.</summary>
    [TestCase(500)]
    [TestCase(504)]
    public async Task Provider_error_after_which_the_message_may_exist_is_an_unknown_outcome_and_stays_counted(int providerStatus)
    {
        var user = await EnablePhoneAsync();
        Telnyx.Fail(providerStatus);

        var before = await Scrape.TakeAsync(App);
        var response = await ChallengeAsync(user.UserId, "sms");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadGateway, "telephony_outcome_unknown");
        var after = await Scrape.TakeAsync(App);
        Assert.Multiple(() =>
        {
            Assert.That(after.Since(before, SmsDeliveries("unknown")), Is.EqualTo(1), "the outcome OPERATIONS.md alerts on");
            Assert.That(after.Since(before, SmsDeliveries("failed")), Is.Zero);
        });
        Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(60)));
        Assert.That(Telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(1), "sent once, not retried (Fail cleared the stand-in's log)");
        Assert.That(await DeliveriesOfAsync(user.UserId), Is.EqualTo(2), "the enrollment and this challenge");
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Telnyx.LastCodeTo(user.Phone) })).StatusCode, Is.EqualTo(HttpStatusCode.OK),
            "the code in the message works if it arrives");
    }

    private static string SmsDeliveries(string outcome) => $"authservice_code_deliveries_total{{channel=\"sms\",outcome=\"{outcome}\"}}";

    private async Task<long> DeliveriesOfAsync(string userId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand("select count(*) from deliveries where user_id = @u", connection);
        count.Parameters.AddWithValue("u", userId);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    [Test]
    public async Task Failed_enrollment_delivery_leaves_nothing_pending()
    {
        var userId = AuthApp.NewUserId("phone");
        Telnyx.Fail(503);
        var response = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = NewPhone(), channel = "sms" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "telephony_unavailable");
        Assert.That(response.Headers.RetryAfter, Is.Not.Null);

        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{userId}/two-factor");
        Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public async Task Switch_from_phone_to_totp_keeps_phone_until_confirmed_and_keeps_backup_codes()
    {
        var user = await EnablePhoneAsync();
        (await ChallengeAsync(user.UserId, "sms", purpose: "proof")).EnsureSuccessStatusCode();
        var proof = Telnyx.LastCodeTo(user.Phone);

        var start = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "totp", accountName = "ann@example.com", proof = new { code = proof } });
        var started = await start.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Created), started.ToString());
        var secret = OtpNet.Base32Encoding.ToBytes(started.GetProperty("secret").GetString()!);

        // Still a phone user until the switch is confirmed.
        (await ChallengeAsync(user.UserId, "sms")).EnsureSuccessStatusCode();
        var stillPhone = Telnyx.LastCodeTo(user.Phone);
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = stillPhone })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        (await ChallengeAsync(user.UserId, "sms")).EnsureSuccessStatusCode();
        var pendingLogin = Telnyx.LastCodeTo(user.Phone);

        var confirm = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method/confirm",
            new { code = Flows.Code(secret, Now) });
        var confirmed = await confirm.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), confirmed.ToString());
        Assert.That(confirmed.GetProperty("method").GetString(), Is.EqualTo("totp"));

        // The old phone code died with the switch; backup codes were kept.
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = pendingLogin }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(user.UserId, "sms"), HttpStatusCode.Conflict, "no_challenge_for_method");
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { backupCode = user.BackupCodes[0] })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        App.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Switch_from_totp_to_phone_with_a_backup_code_as_proof()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var phone = NewPhone();
        var start = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "phone", phoneNumber = phone, channel = "call", proof = new { backupCode = user.BackupCodes[0] } });
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await start.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone).Single().Channel, Is.EqualTo("call"));

        // TOTP still works before confirmation.
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));

        var confirm = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method/confirm",
            new { code = Telnyx.LastCodeTo(phone) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());

        // The old TOTP secret no longer works; the proof backup code was consumed; the others were kept.
        App.Time.Advance(TimeSpan.FromSeconds(30));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { backupCode = user.BackupCodes[0] }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        var remaining = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor/backup-codes");
        Assert.That(remaining.GetProperty("remaining").GetInt32(), Is.EqualTo(9));
        var status = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor");
        Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("phone"));
    }

    [Test]
    public async Task Switch_needs_a_valid_proof_and_starts_nothing_without_it()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var phone = NewPhone();
        var response = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { code = "000000" } });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_code");
        Assert.That(Telnyx.DeliveriesTo(phone), Is.Empty);

        var missing = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method", new { method = "totp" });
        await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.BadRequest, "validation_failed");

        var confirm = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method/confirm", new { code = "123456" });
        await ProblemAssert.IsProblemAsync(confirm, HttpStatusCode.Conflict, "no_pending_switch");
    }
}
