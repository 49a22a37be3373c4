using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.Storage;
using Npgsql;
using OtpNet;
using static AuthService.Tests.Devices.DeviceFlows;

namespace AuthService.Tests.Devices;

/// <summary>Every device of a user is revoked by a factor removal, a switch, a support reset and a lockout, in the same
/// transaction as that change (the triggers of migration 0009); a revocation racing login decisions; and a device token is
/// never accepted where a proof of a change is expected (NIST SP 800-63B-4: AAL1 only).</summary>
public class DeviceRevocationTests : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Limits:LockoutThreshold"] = "3" };

    private async Task<(Flows.EnabledTotpUser User, string Token)> RememberedAsync()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var (token, _) = await RememberAsync(App, Client, user);
        Assert.That(Trusted(await DecideAsync(Client, user.UserId, token)), Is.True);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        return (user, token);
    }

    private async Task AssertRevokedAsync(string userId, string token, string cause)
    {
        AssertNormal(await DecideAsync(Client, userId, token), cause);
        Assert.That(await ListAsync(Client, userId), Is.Empty, cause);
    }

    [Test]
    public async Task A_factor_removal_revokes_every_device()
    {
        var (user, token) = await RememberedAsync();
        var added = await Client.PostAsJsonAsync(Url(user.UserId, "/factors"), new { method = "totp", proof = new { code = Flows.Code(user.Secret, Now) } });
        var body = await added.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var factorId = body.GetProperty("factorId").GetGuid();
        var secret = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        Assert.That((await Client.PostAsJsonAsync(Url(user.UserId, $"/factors/{factorId}/confirm"), new { code = Flows.Code(secret, Now) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
        Assert.That(Trusted(await DecideAsync(Client, user.UserId, token)), Is.True, "adding a factor revokes nothing");

        var remove = new HttpRequestMessage(HttpMethod.Delete, Url(user.UserId, $"/factors/{factorId}"))
        {
            Content = JsonContent.Create(new { proof = new { backupCode = user.BackupCodes[0] } }),
        };
        Assert.That((await Client.SendAsync(remove)).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await AssertRevokedAsync(user.UserId, token, "removal");
    }

    [Test]
    public async Task A_switch_revokes_every_device()
    {
        var (user, token) = await RememberedAsync();
        var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"),
            new { method = "totp", accountName = "ann@example.com", proof = new { code = Flows.Code(user.Secret, Now) } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        Assert.That(Trusted(await DecideAsync(Client, user.UserId, token)), Is.True, "a switch only started revokes nothing");
        var secret = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        Assert.That((await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(secret, Now) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
        await AssertRevokedAsync(user.UserId, token, "switch");
    }

    [Test]
    public async Task A_support_reset_revokes_every_device()
    {
        var (user, token) = await RememberedAsync();
        Assert.That((await Client.PostAsJsonAsync(Url(user.UserId, "/reset"), new { reason = "lost phone", ticket = "T-1" })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
        var decision = await DecideAsync(Client, user.UserId, token);
        Assert.That(decision.TryGetProperty("reason", out _), Is.False, "reset: " + decision);
        await using var connection = await OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand("select count(*) from remembered_devices where user_id = $1", connection)
        {
            Parameters = { new Npgsql.NpgsqlParameter { Value = user.UserId } },
        };
        Assert.That(await count.ExecuteScalarAsync(), Is.EqualTo(0L));
    }

    [Test]
    public async Task A_lockout_revokes_every_device()
    {
        var (user, token) = await RememberedAsync();
        for (var i = 0; i < 2; i++)
        {
            await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" });
        }

        Assert.That(Trusted(await DecideAsync(Client, user.UserId, token)), Is.True, "failures below the threshold revoke nothing");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" }), (HttpStatusCode)423, "locked");
        var decision = await DecideAsync(Client, user.UserId, token);
        Assert.That(decision.GetProperty("locked").GetBoolean(), Is.True);
        await AssertRevokedAsync(user.UserId, token, "lockout");
    }

    [Test]
    public async Task A_device_token_is_never_a_proof_for_a_change()
    {
        var (user, token) = await RememberedAsync();
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { deviceToken = token } }),
            HttpStatusCode.BadRequest, "unknown_field"); // a proof has no place for a device token
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { code = token } }),
            HttpStatusCode.UnprocessableEntity, "invalid_code"); // checked as a code, and counted as a failure
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"),
            new { method = "totp", accountName = "a@example.com", proof = new { deviceToken = token } }), HttpStatusCode.BadRequest, "unknown_field");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "totp", proof = new { backupCode = token } }), HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { deviceToken = token }),
            HttpStatusCode.BadRequest, "unknown_field");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { deviceToken = token }),
            HttpStatusCode.BadRequest, "validation_failed");
        Assert.That(Trusted(await DecideAsync(Client, user.UserId, token)), Is.True, "the token still only skips a login's second step");
    }

    [Test]
    public async Task A_revocation_racing_login_decisions_wins_for_every_later_decision()
    {
        for (var round = 0; round < 5; round++)
        {
            var (user, token) = await RememberedAsync();
            var clients = Enumerable.Range(0, 12).Select(_ => App.AdminClient()).ToArray();
            // Each decider keeps deciding until it has sent one decision after the revocation answered (at most 200), recording
            // when each was sent (monotonic clock ticks) and what it answered.
            var decisions = new System.Collections.Concurrent.ConcurrentQueue<(long SentAt, string Answer)>();
            var revokedAt = long.MaxValue;
            var answers = await Race.RunAsync(clients.Length, async i =>
            {
                if (i == 0)
                {
                    var revoked = await clients[i].PostAsync(Url(user.UserId, "/devices/revoke-all"), null);
                    Interlocked.Exchange(ref revokedAt, Stopwatch.GetTimestamp());
                    return revoked.StatusCode == HttpStatusCode.OK ? "revoked" : "error " + revoked.StatusCode;
                }

                for (var n = 0; n < 200; n++)
                {
                    var sentAt = Stopwatch.GetTimestamp();
                    var decision = await DecideAsync(clients[i], user.UserId, token);
                    decisions.Enqueue((sentAt, Trusted(decision) ? "trusted" : decision.GetProperty("action").GetString()!));
                    if (sentAt > Interlocked.Read(ref revokedAt))
                    {
                        break;
                    }
                }

                return "decided";
            }, i => clients[i].GetAsync("/health/live"));
            foreach (var client in clients)
            {
                client.Dispose();
            }

            Assert.That(answers[0], Is.EqualTo("revoked"));
            var all = decisions.ToList();
            Assert.That(all.Select(d => d.Answer), Has.All.AnyOf("trusted", "verify"));
            // A decision sent after the revocation had answered is the normal one: nothing (a cache, a lagging read) trusts it.
            var later = all.Where(d => d.SentAt > revokedAt).Select(d => d.Answer).ToList();
            Assert.That(later, Is.Not.Empty, "some decisions were sent after the revocation answered");
            Assert.That(later, Has.All.EqualTo("verify"));
            AssertNormal(await DecideAsync(Client, user.UserId, token), "after the revocation returned");
            TestContext.Out.WriteLine($"round {round}: {all.Count(d => d.Answer == "trusted")} trusted, {all.Count(d => d.Answer == "verify")} verify, " +
                                      $"{later.Count} sent after the revocation answered");
        }
    }

    /// <summary>A revoke-all racing a login that remembers its browser: the revocation takes the user's lock, as the login does,
    /// so it is wholly before or after the login. It did not: a login whose device was not yet committed when revoke-all's
    /// delete ran kept its device, and the audit read <c>new_device_login</c> then <c>devices_revoked</c>. Here the login reaches
    /// the user's lock first (a test transaction holds it), so the revocation, queued behind it, must remove its device.</summary>
    [Test]
    public async Task A_revoke_all_queued_behind_a_remembering_login_removes_its_device()
    {
        var (user, token) = await RememberedAsync();
        await using var holder = new NpgsqlConnection(App.ConnectionString);
        await holder.OpenAsync();
        var hold = await holder.BeginTransactionAsync();
        await AttemptLedger.LockUserAsync(holder, hold, user.UserId);

        using var loginClient = App.AdminClient();
        var login = Flows.VerifyAsync(loginClient, user.UserId, new { code = Flows.Code(user.Secret, Now), rememberDevice = new { label = "racing" } });
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
        using var revokeClient = App.AdminClient();
        var revoke = revokeClient.PostAsync(Url(user.UserId, "/devices/revoke-all"), null);
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 2);
        await hold.RollbackAsync();

        var loggedIn = await login;
        Assert.That(loggedIn.StatusCode, Is.EqualTo(HttpStatusCode.OK), await loggedIn.Content.ReadAsStringAsync());
        var revoked = await (await revoke).Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(revoked.GetProperty("revoked").GetInt32(), Is.EqualTo(2), "the device remembered before and the one the login added");
        await AssertRevokedAsync(user.UserId, token, "the revocation came after the login that remembered the device");
    }

    /// <summary>A login that remembers its browser, racing the removal of another factor: the device is stored in the login's own
    /// transaction, so either the login is before the removal (and the removal's trigger revokes its device) or after it. A device
    /// of a login that committed before the removal must never be left standing (it was, when the device was stored in a
    /// transaction of its own after the login: a backup-code login names no factor for the insert to check).</summary>
    [Test]
    public async Task A_factor_removal_racing_a_remembering_login_leaves_no_device_of_a_login_before_it()
    {
        var orders = new List<string>();
        for (var round = 0; round < 10; round++)
        {
            var user = await Flows.EnableTotpAsync(App, Client);
            App.Time.Advance(TimeSpan.FromSeconds(30));
            var added = await (await Client.PostAsJsonAsync(Url(user.UserId, "/factors"), new { method = "totp", proof = new { code = Flows.Code(user.Secret, Now) } }))
                .Content.ReadFromJsonAsync<JsonElement>();
            var factorId = added.GetProperty("factorId").GetGuid();
            var secret = Base32Encoding.ToBytes(added.GetProperty("secret").GetString()!);
            Assert.That((await Client.PostAsJsonAsync(Url(user.UserId, $"/factors/{factorId}/confirm"), new { code = Flows.Code(secret, Now) })).StatusCode,
                Is.EqualTo(HttpStatusCode.OK));

            var clients = new[] { App.AdminClient(), App.AdminClient() };
            var answers = await Race.RunAsync(2, async i => i == 0
                ? (await Flows.VerifyAsync(clients[0], user.UserId, new { backupCode = user.BackupCodes[0], rememberDevice = new { label = "racing" } })).StatusCode
                : (await clients[1].SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url(user.UserId, $"/factors/{factorId}"))
                {
                    Content = JsonContent.Create(new { proof = new { backupCode = user.BackupCodes[1] } }),
                })).StatusCode, i => clients[i].GetAsync("/health/live"));
            foreach (var client in clients)
            {
                client.Dispose();
            }

            Assert.That(answers, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.NoContent }));
            var events = (await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId, "/events?limit=200"))).GetProperty("items").EnumerateArray().ToList();
            long IdOf(string type) => events.Single(e => e.GetProperty("type").GetString() == type).GetProperty("id").GetInt64();
            var loginFirst = IdOf("new_device_login") < IdOf("factor_removed");
            var devices = await ListAsync(Client, user.UserId);
            Assert.That(devices, Has.Count.EqualTo(loginFirst ? 0 : 1), loginFirst
                ? "the login committed before the removal: its device must have been revoked by it"
                : "the login committed after the removal: its device stands");
            orders.Add(loginFirst ? "login first" : "removal first");
        }

        TestContext.Out.WriteLine(string.Join(", ", orders));
    }
}
