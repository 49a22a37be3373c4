using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using Dapper;
using OtpNet;

namespace AuthService.Tests.Security;

/// <summary>The factor and reset races of <see cref="LateRulesRaceTests"/>: removals, defaults, renames, additions, switches,
/// first enrollments and support resets against each other and against logins.</summary>
public partial class LateRulesRaceTests
{
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
            var (user, added, addedSecret, switched, switchSecret) = await AdditionAndSwitchStartedAsync();

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
            var (user, added, addedSecret, _, switchSecret) = await AdditionAndSwitchStartedAsync();

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

    /// <summary>A TOTP user with a TOTP addition and a TOTP switch started, each proved by a backup code of its own, both waiting
    /// for their confirmation: the addition's id and secret, the switch's factor id and secret.</summary>
    private async Task<(Flows.EnabledTotpUser User, Guid Added, byte[] AddedSecret, Guid Switched, byte[] SwitchSecret)> AdditionAndSwitchStartedAsync()
    {
        var (user, _) = await TotpFactorsAsync(1);
        var (added, addedSecret) = await StartTotpAdditionAsync(user.UserId, new { backupCode = user.BackupCodes[0] });
        var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { backupCode = user.BackupCodes[1] } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        return (user, added, addedSecret, body.GetProperty("factorId").GetGuid(), Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!));
    }
}
