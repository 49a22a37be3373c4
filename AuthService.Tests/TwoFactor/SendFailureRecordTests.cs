using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using Dapper;

namespace AuthService.Tests.TwoFactor;

/// <summary>A send that Telnyx surely refused gives its reservation back and writes <c>code_send_failed</c>
/// (PhoneDeliveries.RecordFailureAsync). The two commit together (DESIGN §5: nothing half-written; an event exists exactly
/// when its change does): when the event cannot be stored, the reservation stays, as a crash before the refund would leave it.</summary>
public class SendFailureRecordTests : AppFixture
{
    protected override bool SendsCodes => true;

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    [Test]
    public async Task A_refused_send_whose_event_cannot_be_stored_keeps_its_reservation_and_records_nothing()
    {
        var user = await Flows.EnablePhoneAsync(Client, Telnyx);
        var before = await CountAsync("select count(*) from deliveries where user_id = @UserId", user.UserId);
        Telnyx.Fail(400); // surely not sent: the reservation would be given back
        await using (await FailingWrites.OnAsync(App.ConnectionString, "audit_events",
                         $"r.user_id = '{user.UserId}' and r.event_type = 'code_send_failed'"))
        {
            var answer = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms" });
            await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await CountAsync("select count(*) from deliveries where user_id = @UserId", user.UserId), Is.EqualTo(before + 1),
                "the refund went without its event: the reservation must stay");
            Assert.That(await CountAsync("select count(*) from audit_events where user_id = @UserId and event_type = 'code_send_failed'",
                user.UserId), Is.Zero);
        });

        // With the event stored, the same refusal gives the reservation back and records it.
        var again = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/challenge", new { channel = "sms" });
        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.BadGateway, "telephony_unavailable");
        Assert.Multiple(async () =>
        {
            Assert.That(await CountAsync("select count(*) from deliveries where user_id = @UserId", user.UserId), Is.EqualTo(before + 1));
            Assert.That(await CountAsync("select count(*) from audit_events where user_id = @UserId and event_type = 'code_send_failed'",
                user.UserId), Is.EqualTo(1));
        });
    }

    private async Task<long> CountAsync(string sql, string userId)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, new { UserId = userId });
    }
}
