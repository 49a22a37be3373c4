using System.Net.Http.Json;
using AuthService.Api.TwoFactor;
using AuthService.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AuthService.Tests.TwoFactor;

/// <summary>The coalesced TOTP login on a real PostgreSQL: however concurrent attempts fall into batches, each caller gets
/// its own answer, decided in order under the user's lock: a step is taken once, every checked code is accepted or counted,
/// and the per-minute limit stops checking at exactly its count.</summary>
public class CoalescedTotpLoginTests : AppFixture
{
    protected override bool SendsCodes => true;

    private CodeProofs Proofs => App.Services.GetRequiredService<CodeProofs>();

    private async Task<AuthService.Api.Http.Result<VerifyResponse>?> AttemptAsync(string userId, string code, AuthService.Api.Events.LoginDevice? device = null) =>
        await Proofs.ConsumeAsync(userId, new Proof(code, null), null, TwoFactorApi.LoginStage, CancellationToken.None, device);

    [Test]
    public async Task A_step_is_accepted_once_per_user_and_each_caller_gets_its_own_answer()
    {
        var users = new List<Flows.EnabledTotpUser>();
        for (var i = 0; i < 12; i++)
        {
            users.Add(await Flows.EnableTotpAsync(App, Client));
        }

        // Every user twice with the same code, all at once: some land in one batch, some in different ones.
        var race = users.SelectMany(u => Enumerable.Range(0, 2).Select(_ => (User: u.UserId,
            Answer: AttemptAsync(u.UserId, Flows.Code(u.Secret, Now))))).ToList();
        await Task.WhenAll(race.Select(r => r.Answer));

        foreach (var user in users)
        {
            var answers = race.Where(r => r.User == user.UserId).Select(r => r.Answer.Result!.Value).ToList();
            Assert.That(answers.Count(a => a.Error is null), Is.EqualTo(1), $"{user.UserId}: exactly one acceptance");
            Assert.That(answers.Single(a => a.Error is null).Value!.BackupCodesRemaining, Is.EqualTo(10), "that very user's backup codes");
            Assert.That(answers.Single(a => a.Error is not null).Error!.Code, Is.EqualTo("invalid_code"), "the other is a replay");
            var events = await ExactLimitsTests.EventsSinceEnabledAsync(App.ConnectionString, user.UserId);
            Assert.That(events.OrderBy(e => e), Is.EqualTo(new[] { "verification_failed", "verification_succeeded" }), $"{user.UserId}: both recorded");
        }
    }

    /// <summary>A login from a new device adds its <c>new_device_login</c> row to the batch's writes, next to its acceptance:
    /// those rows must return no result set of their own, or every later acceptance of the batch would read the row before
    /// its own (it did: the outbox statement ended in <c>select 1</c>, and the next user was told 1 backup code left).</summary>
    [Test]
    public async Task New_device_logins_in_one_batch_each_get_their_own_answer()
    {
        var users = new List<Flows.EnabledTotpUser>();
        for (var i = 0; i < 12; i++)
        {
            users.Add(await Flows.EnableTotpAsync(App, Client));
        }

        var newDevice = new AuthService.Api.Events.LoginDevice(IsNew: true, Remember: null);
        var answers = await Task.WhenAll(users.Select(u => AttemptAsync(u.UserId, Flows.Code(u.Secret, Now), newDevice)));

        for (var i = 0; i < users.Count; i++)
        {
            Assert.That(answers[i]!.Value.Error, Is.Null, users[i].UserId);
            Assert.That(answers[i]!.Value.Value!.BackupCodesRemaining, Is.EqualTo(10), $"{users[i].UserId}: that very user's backup codes");
            var events = await ExactLimitsTests.EventsSinceEnabledAsync(App.ConnectionString, users[i].UserId);
            Assert.That(events.OrderBy(e => e), Is.EqualTo(new[] { "new_device_login", "verification_succeeded" }), users[i].UserId);
        }
    }

    [Test]
    public async Task Attempts_of_one_user_in_a_burst_are_decided_in_order_and_stop_at_the_limit()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var wrong = ExactLimitsTests.WrongCodes(user.Secret, 12, Now);

        var answers = await Task.WhenAll(wrong.Select(code => AttemptAsync(user.UserId, code)));

        var codes = answers.Select(a => a!.Value.Error!.Code).ToList();
        Assert.That(codes.Count(c => c == "invalid_code"), Is.EqualTo(5), string.Join(",", codes));
        Assert.That(codes.Count(c => c == "too_many_attempts"), Is.EqualTo(7));
        var events = await ExactLimitsTests.EventsSinceEnabledAsync(App.ConnectionString, user.UserId);
        Assert.That(events.Count(e => e == "verification_failed"), Is.EqualTo(5));
        Assert.That(events.Count(e => e == "rate_limited"), Is.EqualTo(7));
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        Assert.That(await connection.ExecuteScalarAsync<int>("select failed_consecutive from two_factor_users where user_id = @u", new { u = user.UserId }),
            Is.EqualTo(5), "only checked codes count towards the lockout");
    }

    /// <summary>One batch, decided directly (no coalescer timing): its acceptances go out as sets of distinct users, and a set
    /// is closed before a refusal's rows and when its user comes again, so each statement sees exactly what the attempts
    /// before it in arrival order wrote. E has four failures on record and sends the right code, then a wrong one: the
    /// acceptance came first, so it is taken, although the failure after it is the fifth of the minute (a set written after
    /// the failure's rows would refuse it). A sends two valid codes (steps s and s+1): two acceptances of one user, so two
    /// sets (one set would hold A twice, which the statement refuses to take). The new-device rows follow their success.</summary>
    [Test]
    public async Task A_batchs_writes_follow_the_arrival_order_of_its_attempts()
    {
        var a = await Flows.EnableTotpAsync(App, Client);
        var b = await Flows.EnableTotpAsync(App, Client);
        var c = await Flows.EnableTotpAsync(App, Client);
        var e = await Flows.EnableTotpAsync(App, Client);
        await using (var connection = new NpgsqlConnection(App.ConnectionString))
        {
            await connection.ExecuteAsync("insert into verification_failures (user_id, created_at) select @u, @at from generate_series(1, 4)",
                new { u = e.UserId, at = Now.AddSeconds(-10) });
        }

        var check = App.Services.GetRequiredService<ProofCheck>();
        ProofCheck.TotpAttempt Attempt(string userId, string code, bool newDevice = false) =>
            new(userId, code, TwoFactorApi.LoginStage, null, Now, newDevice, Request: null, Profile: null);
        var results = await check.DecideTotpBatchAsync([
            Attempt(a.UserId, Flows.Code(a.Secret, Now)),
            Attempt(b.UserId, Flows.Code(b.Secret, Now), newDevice: true),
            Attempt(e.UserId, Flows.Code(e.Secret, Now)),
            Attempt(e.UserId, ExactLimitsTests.WrongCodes(e.Secret, 1, Now)[0]),
            Attempt(a.UserId, Flows.Code(a.Secret, Now.AddSeconds(30)), newDevice: true),
            Attempt(c.UserId, Flows.Code(c.Secret, Now)),
        ]);

        var answers = results.Select(r => r!.Value.Error?.Code ?? $"ok drift {r!.Value.Value!.DriftSteps}").ToList();
        Assert.That(answers, Is.EqualTo(new[] { "ok drift 0", "ok drift 0", "ok drift 0", "invalid_code", "ok drift 1", "ok drift 0" }));
        Assert.That(results.Where(r => r!.Value.Error is null).Select(r => r!.Value.Value!.BackupCodesRemaining), Is.All.EqualTo(10));
        Assert.That(await ExactLimitsTests.EventsSinceEnabledAsync(App.ConnectionString, a.UserId),
            Is.EqualTo(new[] { "verification_succeeded", "verification_succeeded", "new_device_login" }));
        Assert.That(await ExactLimitsTests.EventsSinceEnabledAsync(App.ConnectionString, b.UserId),
            Is.EqualTo(new[] { "verification_succeeded", "new_device_login" }));
        Assert.That(await ExactLimitsTests.EventsSinceEnabledAsync(App.ConnectionString, e.UserId),
            Is.EqualTo(new[] { "verification_succeeded", "verification_failed" }));
        Assert.That(await ExactLimitsTests.EventsSinceEnabledAsync(App.ConnectionString, c.UserId), Is.EqualTo(new[] { "verification_succeeded" }));
    }

    [Test]
    public async Task A_user_without_2fa_is_answered_not_enabled()
    {
        Assert.That(await AttemptAsync(AuthApp.NewUserId(), "123456"), Is.EqualTo(
            (AuthService.Api.Http.Result<VerifyResponse>?)AuthService.Api.Http.Problems.NotEnabled));
    }

    /// <summary>A user with a factor of another method than TOTP is handed to the single-user path, which tries each method: the
    /// batch must not answer a phone code as a wrong TOTP code, for a phone-only user nor for one who also holds a TOTP app.</summary>
    [Test]
    public async Task Users_with_a_phone_factor_are_left_to_the_general_path_which_takes_their_phone_code()
    {
        var phoneOnly = await Flows.EnablePhoneAsync(Client, Telnyx);
        var both = await Flows.EnableTotpAsync(App, Client);
        var phone = PhoneFactorTests.NewPhone();
        var add = await Client.PostAsJsonAsync($"/v1/users/{both.UserId}/two-factor/factors",
            new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { code = Flows.Code(both.Secret, Now) } });
        var added = await add.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.That(add.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Accepted), added.ToString());
        var confirm = await Client.PostAsJsonAsync($"/v1/users/{both.UserId}/two-factor/factors/{added.GetProperty("factorId").GetGuid()}/confirm",
            new { code = Telnyx.LastCodeTo(phone) });
        Assert.That(confirm.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());

        foreach (var (userId, number) in new[] { (phoneOnly.UserId, phoneOnly.Phone), (both.UserId, phone) })
        {
            var challenge = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel = "sms", factorId = (Guid?)null });
            Assert.That(challenge.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Accepted), await challenge.Content.ReadAsStringAsync());
            var code = Telnyx.LastCodeTo(number);
            var wrong = code == "000000" ? "111111" : "000000";
            Assert.That((await AttemptAsync(userId, wrong))!.Value.Error!.Code, Is.EqualTo("invalid_code"), userId);
            var answer = (await AttemptAsync(userId, code))!.Value;
            Assert.That(answer.Error, Is.Null, $"{userId}: {answer.Error?.Detail}");
            Assert.That(answer.Value!.Method, Is.EqualTo("phone"), userId);
        }
    }
}
