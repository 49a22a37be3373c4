using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using static AuthService.Tests.Webhooks.WebhookTesting;

namespace AuthService.Tests.Webhooks;

/// <summary>One failing receiver does not hold back the others, and retries are not held back by new events: up to three
/// quarters of a pass go to first attempts, the rest to what is due first. Here a pass takes four deliveries
/// (<c>Webhooks:BatchSize=4</c>), a failing endpoint has five retries due since a minute, and six first attempts are due now.
/// Ordered by due time alone, the retries filled the pass and the healthy endpoint's new events waited (for as long as the
/// failing one stayed down, with many users' retries); first attempts alone would have left the retries waiting while new
/// events kept coming. Its own database: a pass claims across all endpoints.</summary>
public class WebhookFairnessTests
{
    /// <param name="batchSize">A pass of 2 (or 3) gave every slot to first attempts (three quarters rounded down left none), and
    /// with a steady stream of new events the retries never went.</param>
    [TestCase(4)]
    [TestCase(2)]
    public async Task A_pass_gives_new_events_three_quarters_and_keeps_a_quarter_for_retries(int batchSize)
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Webhooks:BatchSize"] = batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            TestDatabase.CreateDatabase("webhook_fair"));
        using var admin = app.AdminClient();
        await using var failing = await WebhookReceiver.StartAsync();
        await using var healthy = await WebhookReceiver.StartAsync();
        failing.AnswerWith(503);
        await SubscribeAsync(admin, failing, "two_factor.enabled");
        for (var i = 0; i < 5; i++)
        {
            await Flows.EnableTotpAsync(app, admin);
        }

        await DrainAsync(app); // each of the five tried once and refused: retries
        var retries = failing.Received.Select(r => r.Id).ToHashSet();
        app.Time.Advance(TimeSpan.FromMinutes(1)); // all five due again, since before the new events
        healthy.AnswerWith(204);
        await SubscribeAsync(admin, healthy, "two_factor.enabled");
        var users = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            users.Add((await Flows.EnableTotpAsync(app, admin)).UserId); // six first attempts: more than a pass takes
        }

        Assert.That(await Dispatcher(app).DispatchOnceAsync(CancellationToken.None), Is.EqualTo(batchSize));

        var retried = failing.Received.Skip(retries.Count).Count(r => retries.Contains(r.Id));
        Assert.Multiple(() =>
        {
            if (batchSize >= 4) // three first attempts: the healthy endpoint's come in too (one alone may be the failing endpoint's)
            {
                Assert.That(users.Sum(u => For(healthy, u).Count), Is.GreaterThanOrEqualTo(1), "the healthy endpoint's new events were in the pass");
            }

            Assert.That(retried, Is.EqualTo(1), "the rest first attempts and one retry: new events alone do not hold back the retries");
        });
    }
}
