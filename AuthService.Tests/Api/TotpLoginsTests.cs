using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AuthService.Tests.Api;

/// <summary>The batched statements of the optimistic login path on a real PostgreSQL: however concurrent requests fall
/// into batches, each caller gets its own answer, a step is taken once, and every success has its audit event.</summary>
public class OptimisticLoginsTests : AppFixture
{
    private OptimisticLogins Logins => App.Services.GetRequiredService<OptimisticLogins>();

    [Test]
    public async Task A_step_is_accepted_once_per_user_and_each_caller_gets_its_own_answer()
    {
        var users = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            users.Add((await Flows.EnableTotpAsync(App, Client)).UserId);
        }

        var now = Now;
        var step = now.ToUnixTimeSeconds() / 30 + 100;
        var taken = users.Where((_, i) => i % 2 == 0).ToHashSet();
        foreach (var user in taken)
        {
            Assert.That(await Logins.AcceptAsync(new OptimisticLogins.Accept(user, step, now, null, "{}")), Is.EqualTo(10));
        }

        var auditBefore = await SuccessEventsAsync(users);

        // Every user twice with the same step, all at once: some land in one batch, some in different ones.
        var race = users.SelectMany(u => Enumerable.Range(0, 2).Select(_ => (User: u,
            Answer: Logins.AcceptAsync(new OptimisticLogins.Accept(u, step, now, null, "{}"))))).ToList();
        await Task.WhenAll(race.Select(r => r.Answer));

        foreach (var user in users)
        {
            var answers = race.Where(r => r.User == user).Select(r => r.Answer.Result).ToList();
            if (taken.Contains(user))
            {
                Assert.That(answers, Has.All.Null, $"{user}: its step was already taken");
            }
            else
            {
                Assert.That(answers.Count(a => a is not null), Is.EqualTo(1), $"{user}: exactly one acceptance");
                Assert.That(answers.Single(a => a is not null), Is.EqualTo(10), "the unused backup codes of that very user");
            }
        }

        var auditAfter = await SuccessEventsAsync(users);
        foreach (var user in users)
        {
            Assert.That(auditAfter[user] - auditBefore[user], Is.EqualTo(taken.Contains(user) ? 0 : 1), $"{user}: one audit event per success");
        }
    }

    [Test]
    public async Task Reads_in_one_batch_keep_each_callers_window_of_failures_and_unknown_users_read_null()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var start = Now;
        await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" });
        await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" });
        App.Time.Advance(TimeSpan.FromSeconds(40));
        await Flows.VerifyAsync(Client, user.UserId, new { code = "000000" });

        var reads = Enumerable.Range(0, 10).SelectMany(_ => new[]
        {
            Logins.ReadAsync(new OptimisticLogins.Read(user.UserId, start.AddSeconds(-1))),
            Logins.ReadAsync(new OptimisticLogins.Read(user.UserId, start.AddSeconds(20))),
            Logins.ReadAsync(new OptimisticLogins.Read(AuthApp.NewUserId(), start)),
        }).ToList();
        await Task.WhenAll(reads);

        for (var i = 0; i < reads.Count; i += 3)
        {
            Assert.That(reads[i].Result!.UserId, Is.EqualTo(user.UserId));
            Assert.That(reads[i].Result!.RecentFailures, Has.Length.EqualTo(3), "window from before the first failure");
            Assert.That(reads[i + 1].Result!.RecentFailures, Has.Length.EqualTo(1), "window after the first two");
            Assert.That(reads[i + 2].Result, Is.Null, "no factor, no row");
        }
    }

    private async Task<Dictionary<string, long>> SuccessEventsAsync(List<string> users)
    {
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        var counts = (await connection.QueryAsync<(string UserId, long Count)>(
            "select user_id, count(*) from audit_events where user_id = any(@users) and event_type = 'verification_succeeded' group by user_id",
            new { users = users.ToArray() })).ToDictionary(r => r.UserId, r => r.Count);
        return users.ToDictionary(u => u, u => counts.GetValueOrDefault(u));
    }
}
