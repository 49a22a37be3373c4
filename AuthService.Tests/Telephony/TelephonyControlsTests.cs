using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Telephony;

/// <summary>DESIGN §8.2 on the send path, in-process against the loopback Telnyx stand-in: toll-fraud destinations are
/// refused before anything is sent or counted, country allow-lists apply per channel, and strangers cannot spend a
/// confirmed owner's budget.</summary>
public class TelephonyControlsTests : AppFixture
{
    protected override bool SendsCodes => true;

    // Issue 14: each was enrolled with the call channel and called.
    private static readonly string[] TollFraudNumbers =
        ["+19002345678", "+449012345678", "+448431234567", "+447012345678", "+870773111632", "+80012345678"];

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    private static Task<HttpResponseMessage> EnrollAsync(HttpClient client, string userId, string phone, string channel) =>
        client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel });

    private static Task<HttpResponseMessage> ChallengeAsync(HttpClient client, string userId, string channel) =>
        client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/challenge", new { channel });

    private async Task<long> DeliveriesOfAsync(string userId)
    {
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        return await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId });
    }

    private async Task<string> EnablePhoneAsync(string phone, string channel = "sms")
    {
        var userId = AuthApp.NewUserId("owner");
        var enroll = await EnrollAsync(Client, userId, phone, channel);
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync());
        var confirm = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(phone) });
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirm.Content.ReadAsStringAsync());
        return userId;
    }

    [Test]
    public async Task Toll_fraud_numbers_are_refused_on_both_channels_before_anything_is_sent_or_counted()
    {
        var before = Telnyx.RequestCount;
        foreach (var phone in TollFraudNumbers)
        {
            foreach (var channel in new[] { "call", "sms" })
            {
                var userId = AuthApp.NewUserId("fraud");
                var response = await EnrollAsync(Client, userId, phone, channel);

                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "destination_not_allowed");
                Assert.That(problem.GetProperty("detail").GetString(), Does.Not.Contain(phone[4..]), "the number is not echoed");
                Assert.That(await DeliveriesOfAsync(userId), Is.Zero, $"{phone} by {channel} counted");
                var status = await (await Client.GetAsync($"/v1/users/{userId}/two-factor")).Content.ReadFromJsonAsync<JsonElement>();
                Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null), "no pending enrollment is left");
            }
        }

        Assert.That(Telnyx.RequestCount, Is.EqualTo(before), "nothing reached the provider");
    }

    [Test]
    public async Task An_allowed_mobile_number_still_works_by_sms_and_by_call()
    {
        var phone = "+4474001" + Random.Shared.Next(10000, 99999); // GB mobile
        var userId = await EnablePhoneAsync(phone, "call");

        Assert.That((await ChallengeAsync(Client, userId, "sms")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        var verify = await Flows.VerifyAsync(Client, userId, new { code = Telnyx.LastCodeTo(phone) });
        Assert.That(verify.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await ChallengeAsync(Client, userId, "call")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(Telnyx.DeliveriesTo(phone).Select(d => d.Channel), Is.EqualTo(new[] { "call", "sms", "call" }));
    }

    [Test]
    public async Task Switching_to_a_premium_number_is_refused_before_the_proof_is_spent()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var proof = user.BackupCodes[0];

        var response = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "phone", phoneNumber = "+19002345678", channel = "call", proof = new { backupCode = proof } });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "destination_not_allowed");
        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { backupCode = proof })).StatusCode, Is.EqualTo(HttpStatusCode.OK),
            "the backup code still works");
    }

    [Test]
    public async Task Country_allow_lists_apply_per_channel_on_enrollment_and_on_login_challenges()
    {
        using var app = new AuthApp(new Dictionary<string, string?>(Telnyx.Settings)
        {
            ["Telephony:AllowedCountries:Sms"] = "US,GB",
            ["Telephony:AllowedCountries:Call"] = "US",
        });
        app.Time.SetUtcNow(Now);
        using var client = app.AdminClient();
        var gb = "+4474002" + Random.Shared.Next(10000, 99999);

        await ProblemAssert.IsProblemAsync(await EnrollAsync(client, AuthApp.NewUserId("geo"), gb, "call"), HttpStatusCode.BadRequest,
            "destination_not_allowed");
        await ProblemAssert.IsProblemAsync(await EnrollAsync(client, AuthApp.NewUserId("geo"), "+33612345678", "sms"), HttpStatusCode.BadRequest,
            "destination_not_allowed");

        var userId = AuthApp.NewUserId("geo");
        Assert.That((await EnrollAsync(client, userId, gb, "sms")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That((await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(gb) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
        var deliveries = await DeliveriesOfAsync(userId);

        var problem = await ProblemAssert.IsProblemAsync(await ChallengeAsync(client, userId, "call"), HttpStatusCode.BadRequest,
            "destination_not_allowed");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("GB"));
        Assert.That(await DeliveriesOfAsync(userId), Is.EqualTo(deliveries), "a refused challenge is not counted");
        Assert.That((await ChallengeAsync(client, userId, "sms")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
    }

    /// <summary>Issue 14, item 2: strangers enrolling a confirmed user's number used to send it 9 unsolicited codes and then
    /// lock its owner out of SMS and voice login for a day.</summary>
    [Test]
    public async Task Twelve_strangers_cannot_spend_the_owners_budget_and_send_at_most_three_unsolicited_codes()
    {
        var phone = PhoneFactorTests.NewPhone();
        var owner = await EnablePhoneAsync(phone); // the owner's own enrollment: unconfirmed send 1 of 3

        var strangers = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            App.Time.Advance(TimeSpan.FromMinutes(1));
            var response = await EnrollAsync(Client, AuthApp.NewUserId("stranger"), phone, i % 2 == 0 ? "sms" : "call");
            strangers.Add(response.StatusCode);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.TooManyRequests, "daily_limit_exceeded");
                Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo("You have exceeded the maximum number of allowed requests."));
            }
        }

        Assert.That(strangers.Count(s => s == HttpStatusCode.Accepted), Is.EqualTo(2));
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(3), "at most 3 unsolicited codes, the owner's enrollment included");

        // The owner's login codes, nine of them (the enrollment was the first of the owner's ten), by SMS and by call.
        for (var i = 0; i < 9; i++)
        {
            var channel = i % 2 == 0 ? "sms" : "call";
            Assert.That((await ChallengeAsync(Client, owner, channel)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), $"owner {channel} {i}");
        }

        Assert.That((await Flows.VerifyAsync(Client, owner, new { code = Telnyx.LastCodeTo(phone) })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await ProblemAssert.IsProblemAsync(await ChallengeAsync(Client, owner, "sms"), HttpStatusCode.TooManyRequests, "daily_limit_exceeded");

        // A day later the window has rolled: a stranger may send again, within the same small budget.
        App.Time.Advance(TimeSpan.FromHours(24));
        Assert.That((await EnrollAsync(Client, AuthApp.NewUserId("stranger"), phone, "sms")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
    }
}
