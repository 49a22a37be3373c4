using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.TwoFactor;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Security;

/// <summary>A pending phone code is one per user, and one stored late never overwrites a newer one. A phone addition whose
/// code is not kept for that reason (here: it ran on an instance whose clock is 10 s behind the instance that stored the
/// newer one) used to answer 202 with its pending row stored and its proof spent, though its code could confirm nothing.
/// Now it stores nothing, spends nothing and answers 409 <c>factor_changed</c>, as an overtaken enrollment or switch does.</summary>
public class OvertakenAdditionTests
{
    [Test]
    public async Task A_phone_addition_whose_code_is_not_kept_stores_nothing_and_spends_no_proof()
    {
        using var telnyx = new TelnyxStandIn();
        var database = TestDatabase.CreateDatabase("overtaken_add");
        using var ahead = new AuthApp(telnyx.Settings, database);
        using var behind = new AuthApp(telnyx.Settings, database);
        using var clientAhead = ahead.AdminClient();
        using var clientBehind = behind.AdminClient();
        var user = await Flows.EnableTotpAsync(ahead, clientAhead);
        ahead.Time.Advance(TimeSpan.FromSeconds(10));
        var (first, second) = (PhoneFactorTests.NewPhone(), PhoneFactorTests.NewPhone());

        var stored = await clientAhead.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/factors",
            new { method = "phone", phoneNumber = first, channel = "sms", proof = new { backupCode = user.BackupCodes[0] } });
        Assert.That(stored.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await stored.Content.ReadAsStringAsync());

        var late = await clientBehind.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/factors",
            new { method = "phone", phoneNumber = second, channel = "sms", proof = new { backupCode = user.BackupCodes[1] } });

        await ProblemAssert.IsProblemAsync(late, HttpStatusCode.Conflict, "factor_changed");
        await using var connection = new NpgsqlConnection(database);
        Assert.That(await connection.ExecuteScalarAsync<long>(
            "select count(*) from pending_factors where user_id = @userId and purpose = 'add'", new { userId = user.UserId }), Is.EqualTo(1),
            "only the first addition is pending");
        var remaining = (await clientAhead.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor/backup-codes"))
            .GetProperty("remaining").GetInt32();
        Assert.That(remaining, Is.EqualTo(user.BackupCodes.Count - 1), "the second backup code was not spent");
    }
}
