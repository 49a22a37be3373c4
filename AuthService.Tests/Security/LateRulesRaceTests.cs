using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using Dapper;
using OtpNet;

namespace AuthService.Tests.Security;

/// <summary>The rules of issues 22–25 under real concurrency ("a security rule is decided once and applied atomically"): each
/// race is released by one gate on its own clients, so the requests reach the service together on their own connections, and
/// is run for several rounds. The order the user's lock gave the requests is read back from the audit trail (its ids are
/// taken under that lock).</summary>
public partial class LateRulesRaceTests : AppFixture
{
    private const int Rounds = 4;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Factors:MaxTotp"] = "3",
        ["Limits:LockoutThreshold"] = "50",
    };

    private HttpClient[] _clients = [];

    [OneTimeSetUp]
    public void Clients() => _clients = Enumerable.Range(0, 8).Select(_ => App.AdminClient()).ToArray();

    [OneTimeTearDown]
    public void DisposeClients()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    private static string Url(string userId, string rest = "") => $"/v1/users/{userId}/two-factor{rest}";

    private Task<T[]> RaceAsync<T>(int count, string userId, Func<HttpClient, int, Task<T>> operation) =>
        Race.RunAsync(count, i => operation(_clients[i], i), i => _clients[i].GetAsync(Url(userId)));

    private async Task<List<string>> AuditAsync(string userId)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<string>("select event_type from audit_events where user_id = @userId order by id", new { userId })).AsList();
    }

    private async Task<long> CountAsync(string sql, string userId)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, new { userId });
    }

    private async Task<List<JsonElement>> FactorsAsync(string userId)
    {
        var status = await Client.GetFromJsonAsync<JsonElement>(Url(userId));
        return status.TryGetProperty("factors", out var factors) ? factors.EnumerateArray().ToList() : [];
    }

    private async Task<string> IssueBypassAsync(string userId, int uses)
    {
        var response = await Client.PostAsJsonAsync(Url(userId, "/bypass-codes"), new { reason = "lost phone", ticket = "SUP-1", uses });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        return body.GetProperty("code").GetString()!;
    }

    private async Task<(Guid Id, byte[] Secret)> StartTotpAdditionAsync(string userId, object proof)
    {
        var response = await Client.PostAsJsonAsync(Url(userId, "/factors"), new { method = "totp", proof });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        return (body.GetProperty("factorId").GetGuid(), Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!));
    }

    /// <summary>A TOTP user with <paramref name="count"/> confirmed TOTP factors: their ids and secrets, oldest (the default)
    /// first; the clock one period on.</summary>
    private async Task<(Flows.EnabledTotpUser User, List<(Guid Id, byte[] Secret)> Factors)> TotpFactorsAsync(int count)
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var factors = new List<(Guid, byte[])> { ((await FactorsAsync(user.UserId)).Single().GetProperty("id").GetGuid(), user.Secret) };
        for (var i = 1; i < count; i++)
        {
            var (id, secret) = await StartTotpAdditionAsync(user.UserId, new { backupCode = user.BackupCodes[^i] });
            var confirmed = await Client.PostAsJsonAsync(Url(user.UserId, $"/factors/{id}/confirm"), new { code = Flows.Code(secret, Now) });
            Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
            factors.Add((id, secret));
        }

        App.Time.Advance(TimeSpan.FromSeconds(30));
        return (user, factors);
    }

    private static HttpRequestMessage Removal(string userId, Guid factorId, object proof) =>
        new(HttpMethod.Delete, Url(userId, $"/factors/{factorId}")) { Content = JsonContent.Create(new { proof }) };

    private Task<HttpResponseMessage> ResetAsync(HttpClient client, string userId) =>
        client.PostAsJsonAsync(Url(userId, "/reset"), new { reason = "lost phone", ticket = "T-race" });

    /// <summary>Issue 24: "DELETE …/bypass-codes revokes them". A revocation racing six uses of a three-use code: no use is
    /// accepted after the revocation (in the user's lock order), and the revocation counts the code as live exactly when
    /// fewer than its three uses went before it.</summary>
    [Test]
    public async Task A_bypass_revocation_racing_its_uses_accepts_none_after_it()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var user = await Flows.EnableTotpAsync(App, Client);
            var code = await IssueBypassAsync(user.UserId, uses: 3);
            var answers = await RaceAsync(7, user.UserId, (client, i) => i == 3
                ? client.DeleteAsync(Url(user.UserId, "/bypass-codes"))
                : Flows.VerifyAsync(client, user.UserId, new { bypassCode = code }));

            var revoke = answers[3];
            var revokeBody = await revoke.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.OK), revokeBody.ToString());
            var uses = answers.Where((_, i) => i != 3).ToList();
            var accepted = uses.Count(a => a.StatusCode == HttpStatusCode.OK);
            // A refused use is a failed attempt: 422, or 429 past the per-minute limit of five.
            Assert.That(uses.Where(a => a.StatusCode != HttpStatusCode.OK).Select(a => a.StatusCode),
                Is.All.AnyOf(HttpStatusCode.UnprocessableEntity, HttpStatusCode.TooManyRequests), $"round {round}");
            Assert.That(accepted, Is.InRange(0, 3), $"round {round}");

            var audit = await AuditAsync(user.UserId);
            var revokedAt = audit.IndexOf("bypass_codes_revoked");
            var lastUse = audit.LastIndexOf("bypass_code_used");
            Assert.That(audit.Count(e => e == "bypass_code_used"), Is.EqualTo(accepted), $"round {round}");
            if (accepted < 3)
            {
                Assert.That(revokeBody.GetProperty("revoked").GetInt32(), Is.EqualTo(1), $"round {round}: the code was live at the revocation");
                Assert.That(revokedAt, Is.GreaterThan(lastUse), $"round {round}: no use after the revocation; audit {string.Join(",", audit)}");
            }
            else
            {
                Assert.That(revokeBody.GetProperty("revoked").GetInt32(), Is.Zero, $"round {round}: every use went before it");
            }

            Assert.That(await CountAsync("select count(*) from bypass_codes where user_id = @userId", user.UserId), Is.Zero);
            App.Time.Advance(TimeSpan.FromSeconds(61)); // past the per-minute limit the refused uses may have reached
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { bypassCode = code }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
        }
    }

    /// <summary>Issue 24: a bypass code "passes through the same … single-use rules as every other code", also as the proof of a
    /// change. One single-use code sent at once to a login, a factor removal and a backup-code regeneration is spent by exactly
    /// one of them; the others change nothing.</summary>
    [Test]
    public async Task A_single_use_bypass_code_raced_as_login_and_as_two_proofs_is_spent_once()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var (user, factors) = await TotpFactorsAsync(2);
            var code = await IssueBypassAsync(user.UserId, uses: 1);
            var answers = await RaceAsync(3, user.UserId, (client, i) => i switch
            {
                0 => Flows.VerifyAsync(client, user.UserId, new { bypassCode = code }),
                1 => client.SendAsync(Removal(user.UserId, factors[1].Id, new { bypassCode = code })),
                _ => client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { bypassCode = code } }),
            });

            var statuses = answers.Select(a => a.StatusCode).ToList();
            Assert.That(statuses.Count(s => (int)s is >= 200 and < 300), Is.EqualTo(1), $"round {round}: {string.Join(",", statuses)}");
            Assert.That(statuses.Where(s => (int)s >= 300), Is.All.EqualTo(HttpStatusCode.UnprocessableEntity), $"round {round}");
            Assert.That((await FactorsAsync(user.UserId)).Count, Is.EqualTo(statuses[1] == HttpStatusCode.NoContent ? 1 : 2), $"round {round}");
            var audit = await AuditAsync(user.UserId);
            Assert.That(audit.Count(e => e == "bypass_code_used"), Is.EqualTo(1), $"round {round}: {string.Join(",", audit)}");
            Assert.That(audit.Count(e => e == "backup_codes_regenerated"), Is.EqualTo(statuses[2] == HttpStatusCode.Created ? 1 : 0), $"round {round}");
        }
    }

    /// <summary>Issue 24: "uses count" under concurrency. A five-use code sent ten times at once is accepted exactly five times,
    /// its stored uses never go below zero, and each acceptance is one <c>bypass_code_used</c>.</summary>
    [Test]
    public async Task Ten_concurrent_uses_of_a_five_use_code_are_accepted_five_times()
    {
        var clients = Enumerable.Range(0, 10).Select(_ => App.AdminClient()).ToArray();
        for (var round = 0; round < Rounds; round++)
        {
            var user = await Flows.EnableTotpAsync(App, Client);
            var code = await IssueBypassAsync(user.UserId, uses: 5);
            var answers = await Race.RunAsync(10, i => Flows.VerifyAsync(clients[i], user.UserId, new { bypassCode = code }),
                i => clients[i].GetAsync(Url(user.UserId)));
            Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.OK), Is.EqualTo(5), $"round {round}");
            Assert.That(answers.Where(a => a.StatusCode != HttpStatusCode.OK).Select(a => a.StatusCode),
                Is.All.AnyOf(HttpStatusCode.UnprocessableEntity, HttpStatusCode.TooManyRequests), $"round {round}");
            Assert.That(await CountAsync("select min(uses_left) from bypass_codes where user_id = @userId", user.UserId), Is.Zero, $"round {round}");
            Assert.That((await AuditAsync(user.UserId)).Count(e => e == "bypass_code_used"), Is.EqualTo(5), $"round {round}");
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
