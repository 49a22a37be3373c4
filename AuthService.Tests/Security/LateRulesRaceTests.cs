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
public class LateRulesRaceTests : AppFixture
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

    /// <summary>DESIGN §9.2: a factor is removed "with a proof from another factor". Three factors A, B, C; the removal of A
    /// proved by B and the removal of B proved by A, at once: the second finds its proving factor gone (409
    /// <c>factor_changed</c> at the spend, or 422 at the check) and removes nothing, so a removed factor never proves a removal.</summary>
    [Test]
    public async Task Crossed_removals_each_proved_by_the_other_factor_remove_one()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var (user, factors) = await TotpFactorsAsync(3);
            var (a, b) = (factors[0], factors[1]);
            var answers = await RaceAsync(2, user.UserId, (client, i) => client.SendAsync(i == 0
                ? Removal(user.UserId, a.Id, new { code = Flows.Code(b.Secret, Now) })
                : Removal(user.UserId, b.Id, new { code = Flows.Code(a.Secret, Now) })));

            var statuses = answers.Select(r => r.StatusCode).ToList();
            // The loser is 409 factor_changed when its proof was checked before the winner committed, else 422 invalid_code (its
            // code then matches no factor the user still has).
            Assert.That(statuses.Count(s => s == HttpStatusCode.NoContent), Is.EqualTo(1), $"round {round}: {string.Join(",", statuses)}");
            var loser = answers.Single(r => r.StatusCode != HttpStatusCode.NoContent);
            if (loser.StatusCode == HttpStatusCode.Conflict)
            {
                await ProblemAssert.IsProblemAsync(loser, HttpStatusCode.Conflict, "factor_changed");
            }
            else
            {
                await ProblemAssert.IsProblemAsync(loser, HttpStatusCode.UnprocessableEntity, "invalid_code");
            }

            var removed = statuses[0] == HttpStatusCode.NoContent ? a.Id : b.Id;
            var left = (await FactorsAsync(user.UserId)).ToList();
            Assert.That(left.Select(f => f.GetProperty("id").GetGuid()), Is.EquivalentTo(new[] { a.Id, b.Id, factors[2].Id }.Where(id => id != removed)),
                $"round {round}");
            Assert.That(left.Count(f => f.GetProperty("default").GetBoolean()), Is.EqualTo(1), $"round {round}: one default");
        }
    }

    /// <summary>DESIGN §9.2: "make it the default; remove it". Making C the default races removing the default A (proved by B),
    /// and renaming B races removing B: whatever the order, the user is left with exactly one default factor, and a rename of a
    /// removed factor is 404, never a resurrected row.</summary>
    [Test]
    public async Task Make_default_and_rename_racing_removals_leave_exactly_one_default()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var (user, factors) = await TotpFactorsAsync(3);
            var (a, b, c) = (factors[0], factors[1], factors[2]);
            var answers = await RaceAsync(2, user.UserId, (client, i) => i == 0
                ? client.PatchAsJsonAsync(Url(user.UserId, $"/factors/{c.Id}"), new { @default = true })
                : client.SendAsync(Removal(user.UserId, a.Id, new { code = Flows.Code(b.Secret, Now) })));
            Assert.That(answers.Select(r => r.StatusCode), Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.NoContent }), $"round {round}");
            var left = await FactorsAsync(user.UserId);
            Assert.That(left.Select(f => f.GetProperty("id").GetGuid()), Is.EquivalentTo(new[] { b.Id, c.Id }), $"round {round}");
            Assert.That(left.Count(f => f.GetProperty("default").GetBoolean()), Is.EqualTo(1), $"round {round}: one default");

            var renamed = await RaceAsync(2, user.UserId, (client, i) => i == 0
                ? client.PatchAsJsonAsync(Url(user.UserId, $"/factors/{b.Id}"), new { label = "Renamed", @default = true })
                : client.SendAsync(Removal(user.UserId, b.Id, new { backupCode = user.BackupCodes[0] })));
            Assert.That(renamed[1].StatusCode, Is.EqualTo(HttpStatusCode.NoContent), $"round {round}");
            if (renamed[0].StatusCode != HttpStatusCode.OK)
            {
                await ProblemAssert.IsProblemAsync(renamed[0], HttpStatusCode.NotFound, "factor_not_found");
            }

            var last = (await FactorsAsync(user.UserId)).Single();
            Assert.That(last.GetProperty("id").GetGuid(), Is.EqualTo(c.Id), $"round {round}");
            Assert.That(last.GetProperty("default").GetBoolean(), Is.True, $"round {round}");
        }
    }

    /// <summary>DESIGN §9.2: "switch-method (the confirmed new factor replaces all the others, in one transaction)". An addition
    /// and a switch confirmed at once: whichever goes first, the switch's factor is the user's only factor afterwards — an
    /// addition confirmed after it is 404, one before it is replaced.</summary>
    [Test]
    public async Task An_addition_and_a_switch_confirmed_at_once_leave_only_the_switched_factor()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var (user, _) = await TotpFactorsAsync(1);
            var (added, addedSecret) = await StartTotpAdditionAsync(user.UserId, new { backupCode = user.BackupCodes[0] });
            var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { backupCode = user.BackupCodes[1] } });
            var body = await started.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
            var switched = body.GetProperty("factorId").GetGuid();
            var switchSecret = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);

            var answers = await RaceAsync(2, user.UserId, (client, i) => i == 0
                ? client.PostAsJsonAsync(Url(user.UserId, $"/factors/{added}/confirm"), new { code = Flows.Code(addedSecret, Now) })
                : client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(switchSecret, Now) }));

            Assert.That(answers[1].StatusCode, Is.EqualTo(HttpStatusCode.OK), $"round {round}: " + await answers[1].Content.ReadAsStringAsync());
            if (answers[0].StatusCode != HttpStatusCode.OK)
            {
                await ProblemAssert.IsProblemAsync(answers[0], HttpStatusCode.NotFound, "factor_not_found");
            }

            var left = (await FactorsAsync(user.UserId)).Single();
            Assert.That(left.GetProperty("id").GetGuid(), Is.EqualTo(switched), $"round {round}");
            App.Time.Advance(TimeSpan.FromSeconds(30));
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(addedSecret, Now) }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
        }
    }

    /// <summary>Issue 24 / DESIGN: the support reset removes every factor, the backup and bypass codes, under the user's lock.
    /// A reset racing logins by TOTP (the coalesced batch path), backup code and bypass code: every accepted login comes before
    /// the reset in the user's lock order, and nothing is left that logs in after it.</summary>
    [Test]
    public async Task A_support_reset_racing_logins_of_every_kind_accepts_none_after_it()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var user = await Flows.EnableTotpAsync(App, Client);
            var bypass = await IssueBypassAsync(user.UserId, uses: 3);
            var totp = Flows.Code(user.Secret, Now);
            var answers = await RaceAsync(7, user.UserId, (client, i) => i switch
            {
                3 => ResetAsync(client, user.UserId),
                0 => Flows.VerifyAsync(client, user.UserId, new { code = totp }),
                1 or 2 => Flows.VerifyAsync(client, user.UserId, new { backupCode = user.BackupCodes[i] }),
                _ => Flows.VerifyAsync(client, user.UserId, new { bypassCode = bypass }),
            });

            Assert.That(answers[3].StatusCode, Is.EqualTo(HttpStatusCode.OK), $"round {round}");
            var logins = answers.Where((_, i) => i != 3).ToList();
            Assert.That(logins.Select(a => a.StatusCode), Is.All.AnyOf(HttpStatusCode.OK, HttpStatusCode.Conflict), $"round {round}");
            foreach (var refused in logins.Where(a => a.StatusCode == HttpStatusCode.Conflict))
            {
                await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict, "two_factor_not_enabled");
            }

            var audit = await AuditAsync(user.UserId);
            var resetAt = audit.IndexOf("support_reset");
            string[] accepting = ["verification_succeeded", "backup_code_used", "bypass_code_used"];
            var successes = audit.Select((e, i) => (e, i)).Where(x => accepting.Contains(x.e)).Select(x => x.i).ToList();
            // Enrollment's own events come first; only the race's logins count.
            var raceSuccesses = successes.Count(i => i > audit.IndexOf("bypass_code_issued"));
            Assert.That(raceSuccesses, Is.EqualTo(logins.Count(a => a.StatusCode == HttpStatusCode.OK)), $"round {round}: {string.Join(",", audit)}");
            Assert.That(successes.All(i => i < resetAt), $"round {round}: a login accepted after the reset: {string.Join(",", audit)}");
            Assert.That(await CountAsync("select count(*) from bypass_codes where user_id = @userId", user.UserId), Is.Zero);
            Assert.That(await CountAsync("select count(*) from backup_codes where user_id = @userId", user.UserId), Is.Zero);
            Assert.That(await CountAsync("select count(*) from factors where user_id = @userId", user.UserId), Is.Zero);
        }
    }

    /// <summary>A support reset racing the confirmations of an addition and a switch and the issue of a bypass code: nothing
    /// confirmed or issued after the reset survives it (the user is left without 2FA, with no factor, pending row or bypass
    /// code), whatever the order.</summary>
    [Test]
    public async Task A_support_reset_racing_changes_and_a_bypass_issue_leaves_nothing()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var (user, _) = await TotpFactorsAsync(1);
            var (added, addedSecret) = await StartTotpAdditionAsync(user.UserId, new { backupCode = user.BackupCodes[0] });
            var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { backupCode = user.BackupCodes[1] } });
            var body = await started.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
            var switchSecret = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);

            var answers = await RaceAsync(4, user.UserId, (client, i) => i switch
            {
                0 => client.PostAsJsonAsync(Url(user.UserId, $"/factors/{added}/confirm"), new { code = Flows.Code(addedSecret, Now) }),
                1 => ResetAsync(client, user.UserId),
                2 => client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(switchSecret, Now) }),
                _ => client.PostAsJsonAsync(Url(user.UserId, "/bypass-codes"), new { reason = "r", ticket = "t" }),
            });

            Assert.That(answers[1].StatusCode, Is.EqualTo(HttpStatusCode.OK), $"round {round}");
            Assert.That(answers.Select(a => (int)a.StatusCode), Is.All.LessThan(500), $"round {round}");
            var status = await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId));
            Assert.That(status.GetProperty("enabled").GetBoolean(), Is.False, $"round {round}: {status}");
            Assert.That(await CountAsync("select count(*) from factors where user_id = @userId", user.UserId), Is.Zero, $"round {round}");
            Assert.That(await CountAsync("select count(*) from pending_factors where user_id = @userId", user.UserId), Is.Zero, $"round {round}");
            Assert.That(await CountAsync("select count(*) from bypass_codes where user_id = @userId", user.UserId), Is.Zero, $"round {round}");
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

    /// <summary>Two first enrollments of a user without 2FA (two <c>/factors</c> additions, which are then enrollments) confirmed at once:
    /// exactly one enables 2FA, and only its ten backup codes are stored and work.</summary>
    [Test]
    public async Task Two_first_enrollments_confirmed_at_once_enable_one_factor_with_one_set_of_backup_codes()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var userId = AuthApp.NewUserId();
            var pending = new[] { await StartTotpAdditionAsync(userId, null!), await StartTotpAdditionAsync(userId, null!) };
            var answers = await RaceAsync(2, userId, (client, i) =>
                client.PostAsJsonAsync(Url(userId, $"/factors/{pending[i].Id}/confirm"), new { code = Flows.Code(pending[i].Secret, Now) }));
            var statuses = answers.Select(a => a.StatusCode).ToList();
            Assert.That(statuses.Count(s => s == HttpStatusCode.OK), Is.EqualTo(1), $"round {round}: {string.Join(",", statuses)}");
            Assert.That(statuses.Single(s => s != HttpStatusCode.OK), Is.AnyOf(HttpStatusCode.Conflict, HttpStatusCode.NotFound), $"round {round}");
            var winner = await answers.Single(a => a.StatusCode == HttpStatusCode.OK).Content.ReadFromJsonAsync<JsonElement>();
            var codes = winner.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!).ToList();
            Assert.That(codes, Has.Count.EqualTo(10));
            Assert.That(await CountAsync("select count(*) from factors where user_id = @userId", userId), Is.EqualTo(1), $"round {round}");
            Assert.That(await CountAsync("select count(*) from backup_codes where user_id = @userId", userId), Is.EqualTo(10), $"round {round}");
            App.Time.Advance(TimeSpan.FromSeconds(30));
            Assert.That((await Flows.VerifyAsync(Client, userId, new { backupCode = codes[0] })).StatusCode, Is.EqualTo(HttpStatusCode.OK), $"round {round}");
        }
    }
}
