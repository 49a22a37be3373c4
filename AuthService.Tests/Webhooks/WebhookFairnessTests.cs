using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;
using static AuthService.Tests.Webhooks.WebhookTesting;

namespace AuthService.Tests.Webhooks;

/// <summary>One failing receiver does not hold back the others: a pass claims first attempts before retries. Here a pass takes
/// two deliveries (<c>Webhooks:BatchSize=2</c>), a failing endpoint has three retries due since a minute, and a healthy
/// endpoint's new event is due now; ordered by due time alone, the retries filled the pass and the healthy endpoint waited (for
/// as long as the failing one stayed down, with many users' retries). Its own database: a pass claims across all endpoints.</summary>
public class WebhookFairnessTests
{
    [Test]
    public async Task A_new_event_for_a_healthy_endpoint_goes_before_a_failing_endpoints_retries()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Webhooks:BatchSize"] = "2" }, TestDatabase.CreateDatabase("webhook_fair"));
        using var admin = app.AdminClient();
        await using var failing = await WebhookReceiver.StartAsync();
        await using var healthy = await WebhookReceiver.StartAsync();
        failing.AnswerWith(503);
        await SubscribeAsync(admin, failing, "two_factor.enabled");
        for (var i = 0; i < 3; i++)
        {
            await Flows.EnableTotpAsync(app, admin);
        }

        await DrainAsync(app); // each of the three tried once and refused: retries
        app.Time.Advance(TimeSpan.FromMinutes(1)); // all three due again, since before the next event
        healthy.AnswerWith(204);
        await SubscribeAsync(admin, healthy, "two_factor.enabled");
        var user = await Flows.EnableTotpAsync(app, admin);

        Assert.That(await Dispatcher(app).DispatchOnceAsync(CancellationToken.None), Is.EqualTo(2));

        Assert.That(For(healthy, user.UserId), Has.Count.EqualTo(1), "the healthy endpoint's new event was in the first pass");
    }
}
