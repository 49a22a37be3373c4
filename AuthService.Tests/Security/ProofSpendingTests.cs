using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.TwoFactor;
using Dapper;

namespace AuthService.Tests.Security;

/// <summary>Issue 21 points 3, 5 and 6: a proof is spent only together with the change it authorises; an Idempotency-Key
/// answers only the request it was first used for; a support reset refunds nothing of the shared ledgers.</summary>
public class ProofSpendingTests : AppFixture
{
    protected override bool SendsCodes => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Limits:DailyRequests"] = "3",
        ["Limits:UnconfirmedNumberDaily"] = "1",
    };

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    private static string Url(string userId, string rest = "") => $"/v1/users/{userId}/two-factor{rest}";

    private async Task<(string UserId, string Phone, IReadOnlyList<string> BackupCodes)> EnablePhoneAsync()
    {
        var user = await Flows.EnablePhoneAsync(Client, Telnyx, "spend");
        return (user.UserId, user.Phone, user.BackupCodes);
    }

    private Task<HttpResponseMessage> EnrollPhoneAsync(string userId, string phone) =>
        Client.PostAsJsonAsync(Url(userId, "/enroll"), new { method = "phone", phoneNumber = phone, channel = "sms" });

    private Task<HttpResponseMessage> SwitchToPhoneAsync(string userId, string phone, object proof) =>
        Client.PostAsJsonAsync(Url(userId, "/switch-method"), new { method = "phone", phoneNumber = phone, channel = "sms", proof });

    private Task<HttpResponseMessage> ChallengeAsync(string userId, string? key = null, string channel = "sms", string purpose = "login",
        HttpClient? client = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Url(userId, "/challenge")) { Content = JsonContent.Create(new { channel, purpose }) };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return (client ?? Client).SendAsync(request);
    }

    private async Task<List<string>> EventsAsync(string userId)
    {
        var page = await Client.GetFromJsonAsync<JsonElement>(Url(userId, "/events?limit=200"));
        return page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()!).ToList();
    }

    private async Task<int> BackupCodesLeftAsync(string userId) =>
        (await Client.GetFromJsonAsync<JsonElement>(Url(userId, "/backup-codes"))).GetProperty("remaining").GetInt32();

    [Test]
    public async Task A_switch_refused_by_the_daily_budget_keeps_its_backup_code()
    {
        var (userId, _, backupCodes) = await EnablePhoneAsync(); // 1 of 3 deliveries
        (await ChallengeAsync(userId)).EnsureSuccessStatusCode();
        (await ChallengeAsync(userId)).EnsureSuccessStatusCode(); // 3 of 3

        await ProblemAssert.IsProblemAsync(await SwitchToPhoneAsync(userId, PhoneFactorTests.NewPhone(), new { backupCode = backupCodes[0] }),
            HttpStatusCode.TooManyRequests, "daily_limit_exceeded");

        Assert.That(await BackupCodesLeftAsync(userId), Is.EqualTo(10), "the backup code stays unused");
        Assert.That(await EventsAsync(userId), Has.None.EqualTo("backup_code_used").And.None.EqualTo("method_switch_started"));
        Assert.That((await Flows.VerifyAsync(Client, userId, new { backupCode = backupCodes[0] })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_switch_refused_by_the_provider_keeps_its_totp_code()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = Flows.Code(user.Secret, Now);
        Telnyx.Fail(503);
        await ProblemAssert.IsProblemAsync(await SwitchToPhoneAsync(user.UserId, PhoneFactorTests.NewPhone(), new { code }),
            HttpStatusCode.ServiceUnavailable, "telephony_unavailable");
        Telnyx.Succeed();

        Assert.That(await EventsAsync(user.UserId), Has.None.EqualTo("verification_succeeded").And.None.EqualTo("verification_failed"));
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { code })).StatusCode, Is.EqualTo(HttpStatusCode.OK),
            "the step was not taken by the refused switch");
    }

    /// <summary>A refused change keeps its proof code, however often it is refused: a check that matches gives its attempt
    /// back, so the code's attempts (PhoneCodes.MaxAttemptsPerCode) bound wrong guesses only, and a right proof refused more
    /// times than that still proves (DESIGN §9.1: the proof stays). Spent once, it proves nothing more.</summary>
    [TestCase(1)]
    [TestCase(AuthService.Core.Phone.PhoneCodes.MaxAttemptsPerCode + 1)]
    public async Task A_switch_refused_by_the_unconfirmed_number_budget_keeps_its_proof_code(int refusals)
    {
        var (userId, phone, _) = await EnablePhoneAsync();
        var crowded = PhoneFactorTests.NewPhone();
        (await EnrollPhoneAsync(AuthApp.NewUserId("other"), crowded)).EnsureSuccessStatusCode(); // its 1 unconfirmed delivery of the day
        (await ChallengeAsync(userId, purpose: "proof")).EnsureSuccessStatusCode();
        var proof = Telnyx.LastCodeTo(phone);

        for (var i = 0; i < refusals; i++)
        {
            await ProblemAssert.IsProblemAsync(await SwitchToPhoneAsync(userId, crowded, new { code = proof }), HttpStatusCode.TooManyRequests,
                "daily_limit_exceeded");
        }

        var started = await SwitchToPhoneAsync(userId, PhoneFactorTests.NewPhone(), new { code = proof });
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the same proof code still proves: " + await started.Content.ReadAsStringAsync());
        Assert.That(await EventsAsync(userId), Has.None.EqualTo("verification_failed"), "no right code was counted as a failure");
        await ProblemAssert.IsProblemAsync(await SwitchToPhoneAsync(userId, PhoneFactorTests.NewPhone(), new { code = proof }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task An_idempotency_key_answers_only_the_request_it_was_first_used_for()
    {
        var (userId, phone, _) = await EnablePhoneAsync();
        (await ChallengeAsync(userId, "k1")).EnsureSuccessStatusCode();
        var sent = Telnyx.DeliveriesTo(phone).Count;

        await ProblemAssert.IsProblemAsync(await ChallengeAsync(userId, "k1", channel: "call"), HttpStatusCode.UnprocessableEntity, "idempotency_key_reused");
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(userId, "k1", purpose: "proof"), HttpStatusCode.UnprocessableEntity,
            "idempotency_key_reused");
        using var otherCaller = await App.ClientWithScopesAsync("verify");
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(userId, "k1", client: otherCaller), HttpStatusCode.UnprocessableEntity,
            "idempotency_key_reused");
        Assert.That((await ChallengeAsync(userId, "k1")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the same request replays");
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(sent), "nothing was sent for any of them");
    }

    [Test]
    public async Task A_switch_drops_the_users_idempotency_keys()
    {
        var (userId, _, backupCodes) = await EnablePhoneAsync();
        (await ChallengeAsync(userId, "k-switch")).EnsureSuccessStatusCode();
        var newPhone = PhoneFactorTests.NewPhone();
        (await SwitchToPhoneAsync(userId, newPhone, new { backupCode = backupCodes[0] })).EnsureSuccessStatusCode();
        (await Client.PostAsJsonAsync(Url(userId, "/switch-method/confirm"), new { code = Telnyx.LastCodeTo(newPhone) })).EnsureSuccessStatusCode();
        await using (var connection = await OpenAsync())
        {
            Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from idempotency_keys where user_id = @userId", new { userId }),
                Is.Zero);
        }

        App.Time.Advance(TimeSpan.FromDays(1)); // a fresh daily budget for the challenges below
        var again = await ChallengeAsync(userId, "k-switch");
        var body = await again.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
        Assert.That(body.GetProperty("phoneNumber").GetString(), Does.EndWith(newPhone[^4..]), "a new send to the new number, not the old answer");

        // A support reset drops them too.
        (await Client.PostAsJsonAsync(Url(userId, "/reset"), new { reason = "support", ticket = "T-5" })).EnsureSuccessStatusCode();
        await using (var connection = await OpenAsync())
        {
            Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from idempotency_keys where user_id = @userId", new { userId }),
                Is.Zero);
        }
    }

    /// <summary>A phone user who added and confirmed a TOTP app (proved with their first backup code): the phone keeps its
    /// keyed challenges while the app is removed.</summary>
    private async Task<(string UserId, string Phone, IReadOnlyList<string> BackupCodes, Guid TotpId)> PhoneWithTotpAsync()
    {
        var (userId, phone, backupCodes) = await EnablePhoneAsync();
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var added = await (await Client.PostAsJsonAsync(Url(userId, "/factors"), new { method = "totp", proof = new { backupCode = backupCodes[0] } }))
            .Content.ReadFromJsonAsync<JsonElement>();
        var totpId = added.GetProperty("factorId").GetGuid();
        var secret = OtpNet.Base32Encoding.ToBytes(added.GetProperty("secret").GetString()!);
        (await Client.PostAsJsonAsync(Url(userId, $"/factors/{totpId}/confirm"), new { code = Flows.Code(secret, App.Time.GetUtcNow()) }))
            .EnsureSuccessStatusCode();
        return (userId, phone, backupCodes, totpId);
    }

    private async Task RemoveTotpAsync(string userId, Guid totpId, string backupCode)
    {
        var removal = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url(userId, $"/factors/{totpId}"))
        {
            Content = JsonContent.Create(new { proof = new { backupCode } }),
        });
        Assert.That(removal.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await removal.Content.ReadAsStringAsync());
    }

    /// <summary>Removing a factor drops the user's answered keys, not a claim still being answered: a keyed challenge to the
    /// number the user keeps, in flight while another factor is removed, used to lose its claim, and the portal's retry with
    /// the same key sent a second code.</summary>
    [Test]
    public async Task A_factor_removal_keeps_a_key_still_being_answered()
    {
        var (userId, phone, backupCodes, totpId) = await PhoneWithTotpAsync();
        var sentBefore = Telnyx.DeliveriesTo(phone).Count;

        using var held = Telnyx.Hold(phone);
        var first = ChallengeAsync(userId, "k-removal");
        await held.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await RemoveTotpAsync(userId, totpId, backupCodes[1]);

        // The retry finds the claim in flight (without it, it would claim the key again and wait on Telnyx for a second send).
        var retry = await ChallengeAsync(userId, "k-removal").WaitAsync(TimeSpan.FromSeconds(10));
        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.Conflict, "idempotency_key_in_use");
        held.Open();
        Assert.That((await first).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That((await ChallengeAsync(userId, "k-removal")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the answer replays");
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(sentBefore + 1), "one code for the one key");
    }

    /// <summary>Removing a factor drops the answered keys of that factor only: a keyed challenge to the phone the user keeps,
    /// answered before an unrelated TOTP app was removed, replays on its retry. It did not (every answered key of the user
    /// went), and the portal's retry sent a second code.</summary>
    [Test]
    public async Task A_factor_removal_keeps_the_answer_of_a_phone_the_user_keeps()
    {
        var (userId, phone, backupCodes, totpId) = await PhoneWithTotpAsync();
        var sentBefore = Telnyx.DeliveriesTo(phone).Count;
        Assert.That((await ChallengeAsync(userId, "k-kept")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        await RemoveTotpAsync(userId, totpId, backupCodes[1]);

        Assert.That((await ChallengeAsync(userId, "k-kept")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the answer replays");
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(sentBefore + 1), "one code for the one key");
    }

    /// <summary>DESIGN §9.1: a proof is spent only together with the change it authorises. Of two switches in flight the newer
    /// pending one stands; the older, finishing last, used to spend its backup code, store nothing and answer 202, and the
    /// code its user then received was counted a failure at the confirmation.</summary>
    [Test]
    public async Task A_switch_overtaken_by_a_newer_one_spends_no_proof_and_says_so()
    {
        var (userId, phone, backupCodes) = await EnablePhoneAsync();
        var left = await BackupCodesLeftAsync(userId);
        var newPhone = PhoneFactorTests.NewPhone();
        using var held = Telnyx.Hold(newPhone);
        var older = SwitchToPhoneAsync(userId, newPhone, new { backupCode = backupCodes[0] });
        await held.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));

        App.Time.Advance(TimeSpan.FromMilliseconds(10)); // later than the older switch, well inside the held send's 1 s timeout
        var newer = await Client.PostAsJsonAsync(Url(userId, "/switch-method"), new { method = "totp", proof = new { backupCode = backupCodes[1] } });
        Assert.That(newer.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        held.Open();

        await ProblemAssert.IsProblemAsync(await older, HttpStatusCode.Conflict, "factor_changed");
        Assert.That(await BackupCodesLeftAsync(userId), Is.EqualTo(left - 1), "only the newer switch spent its backup code");
        var secret = OtpNet.Base32Encoding.ToBytes((await newer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!);
        var confirmed = await Client.PostAsJsonAsync(Url(userId, "/switch-method/confirm"), new { code = Flows.Code(secret, App.Time.GetUtcNow()) });
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
    }

    /// <summary>A proof is spent once the code its change sent is stored, so a second request with the same proof, arriving while
    /// the first is being sent, used to pass the check and send a text of its own, to a number of its choosing (one proof, as many
    /// texts as requests). Now the first holds the user's claim and the second sends nothing; the claim is given back at the end.</summary>
    [Test]
    public async Task A_second_change_on_the_same_proof_while_the_first_is_being_sent_sends_nothing()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var (numberA, numberB) = (PhoneFactorTests.NewPhone(), PhoneFactorTests.NewPhone());
        var proof = new { code = Flows.Code(user.Secret, Now) };
        using var held = Telnyx.Hold(numberA);
        var first = SwitchToPhoneAsync(user.UserId, numberA, proof);
        await held.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));

        var refused = await SwitchToPhoneAsync(user.UserId, numberB, proof);
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict, "change_in_progress");
        Assert.That(refused.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(5)));
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "phone", phoneNumber = numberB, channel = "sms", proof }), HttpStatusCode.Conflict, "change_in_progress");
        held.Open();

        Assert.That((await first).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(Telnyx.DeliveriesTo(numberB), Is.Empty, "the proof paid for one text");
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var next = await SwitchToPhoneAsync(user.UserId, numberB, new { code = Flows.Code(user.Secret, Now) });
        Assert.That(next.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the claim was given back: " + await next.Content.ReadAsStringAsync());
    }

    /// <summary>A change stored (its text sent, its proof spent) whose claim could not be given back, because the database failed
    /// just then, is answered as stored, not 503: a retry could only find the proof spent. The claim lapses on its own.</summary>
    [Test]
    public async Task A_stored_change_whose_claim_cannot_be_given_back_is_still_answered_as_stored()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var phone = PhoneFactorTests.NewPhone();
        HttpResponseMessage switched;
        await using (await FailingWrites.OnAsync(App.ConnectionString, "change_claims", $"r.user_id = '{user.UserId}'", "delete"))
        {
            switched = await SwitchToPhoneAsync(user.UserId, phone, new { code = Flows.Code(user.Secret, Now) });
        }

        Assert.That(switched.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await switched.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(1));
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "phone", phoneNumber = PhoneFactorTests.NewPhone(), channel = "sms", proof = new { backupCode = user.BackupCodes[0] } }),
            HttpStatusCode.Conflict, "change_in_progress"); // until the claim lapses (A_claim_left_by_a_dead_instance_lapses_after_a_minute)
        var confirmed = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Telnyx.LastCodeTo(phone) });
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
    }

    /// <summary>A claim its instance never gave back (it died during the send) holds the user's changes for a minute, no longer.</summary>
    [Test]
    public async Task A_claim_left_by_a_dead_instance_lapses_after_a_minute()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using (var connection = await OpenAsync())
        {
            await connection.ExecuteAsync("insert into change_claims (user_id, claim_id, lapses_at) values (@userId, gen_random_uuid(), @lapses)",
                new { userId = user.UserId, lapses = Now + TimeSpan.FromMinutes(1) });
        }

        var phone = PhoneFactorTests.NewPhone();
        await ProblemAssert.IsProblemAsync(await SwitchToPhoneAsync(user.UserId, phone, new { code = Flows.Code(user.Secret, Now) }),
            HttpStatusCode.Conflict, "change_in_progress");
        App.Time.Advance(TimeSpan.FromMinutes(1));
        var switched = await SwitchToPhoneAsync(user.UserId, phone, new { code = Flows.Code(user.Secret, Now) });
        Assert.That(switched.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await switched.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(1));
    }

    /// <summary>A switch to a phone starts no send that could outlast the user's claim for it: had it waited (here on the
    /// delivery lock the test holds) until less than the longest send (the stand-in's TotalTimeout, 3 s) and the 10 s store
    /// budget were left of the claim's minute, another change could take the lapsed claim over and send a text of its own while
    /// this one's was on its way. It sends nothing, spends no proof, and gives its reservation and its claim back.</summary>
    [TestCase(46, true)]
    [TestCase(48, false)]
    public async Task A_switch_to_a_phone_starts_no_send_its_claim_could_not_outlast(int secondsBeforeTheSend, bool sends)
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var left = await BackupCodesLeftAsync(user.UserId);
        var phone = PhoneFactorTests.NewPhone();
        var proof = new { backupCode = user.BackupCodes[0] };
        const string tooLate = "authservice_code_deliveries_total{channel=\"sms\",outcome=\"too_late\"}";
        var metricsBefore = await Scrape.TakeAsync(App);
        Task<HttpResponseMessage> switching;
        await using (var holder = await OpenAsync())
        {
            await using var transaction = await holder.BeginTransactionAsync();
            await DeliveryLedger.LockAsync(holder, transaction, "deliveries-user", user.UserId);
            switching = SwitchToPhoneAsync(user.UserId, phone, proof);
            await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
            App.Time.Advance(TimeSpan.FromSeconds(secondsBeforeTheSend));
            await transaction.CommitAsync();
        }

        var answer = await switching;
        Assert.That((await Scrape.TakeAsync(App)).Since(metricsBefore, tooLate), Is.EqualTo(sends ? 0 : 1), "the too_late deliveries counted");
        if (sends)
        {
            Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await answer.Content.ReadAsStringAsync());
            Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(1));
            Assert.That(await BackupCodesLeftAsync(user.UserId), Is.EqualTo(left - 1));
            return;
        }

        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "telephony_unavailable");
        Assert.That(Telnyx.DeliveriesTo(phone), Is.Empty, "nothing sent");
        Assert.That(await BackupCodesLeftAsync(user.UserId), Is.EqualTo(left), "the proof was not spent");
        await using (var connection = await OpenAsync())
        {
            Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId = user.UserId }),
                Is.Zero, "the reservation was given back");
        }

        var retry = await SwitchToPhoneAsync(user.UserId, phone, proof);
        Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the claim was given back: " + await retry.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_support_reset_refunds_nothing_of_the_shared_ledgers()
    {
        var userId = AuthApp.NewUserId("reset");
        var number = PhoneFactorTests.NewPhone();
        (await EnrollPhoneAsync(userId, number)).EnsureSuccessStatusCode(); // the number's one unconfirmed delivery of the day
        (await EnrollPhoneAsync(userId, PhoneFactorTests.NewPhone())).EnsureSuccessStatusCode();
        (await EnrollPhoneAsync(userId, PhoneFactorTests.NewPhone())).EnsureSuccessStatusCode(); // the user's 3 of 3
        await ProblemAssert.IsProblemAsync(await EnrollPhoneAsync(userId, PhoneFactorTests.NewPhone()), HttpStatusCode.TooManyRequests,
            "daily_limit_exceeded");
        var stranger = AuthApp.NewUserId("stranger");
        await ProblemAssert.IsProblemAsync(await EnrollPhoneAsync(stranger, number), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");

        (await Client.PostAsJsonAsync(Url(userId, "/reset"), new { reason = "support", ticket = "T-6" })).EnsureSuccessStatusCode();

        await ProblemAssert.IsProblemAsync(await EnrollPhoneAsync(stranger, number), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
        await using (var connection = await OpenAsync())
        {
            Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId }),
                Is.EqualTo(3), "the deliveries still count for the deployment caps and their numbers");
        }

        Assert.That((await EnrollPhoneAsync(userId, PhoneFactorTests.NewPhone())).StatusCode, Is.EqualTo(HttpStatusCode.Accepted),
            "the user's own daily budget is given back");
    }
}
