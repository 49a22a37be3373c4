using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using static AuthService.Tests.Webhooks.WebhookTesting;

namespace AuthService.Tests.Webhooks;

/// <summary>A real service process killed while a delivery is in flight: the claim dies with its connection, and the
/// restarted service delivers everything. Real processes, real clock.</summary>
[Category("MultiProcess")]
public class WebhookCrashTests
{
    private static Dictionary<string, string?> Environment() => Instances.Production(TestDatabase.ConnectionString, null,
        new Dictionary<string, string?>
        {
            ["Webhooks__AllowInsecure"] = "true",
            ["Webhooks__AllowPrivateNetworks"] = "true",
            ["Webhooks__PollInterval"] = "00:00:00.200",
            ["Webhooks__Timeout"] = "00:01:00",
        });

    /// <summary>Gives each user the row a support reset removes, so that the reset is one of a user who had 2FA.</summary>
    private static async Task HadTwoFactorAsync(IEnumerable<string> users)
    {
        await using var connection = new Npgsql.NpgsqlConnection(TestDatabase.ConnectionString);
        await connection.OpenAsync();
        foreach (var userId in users)
        {
            await using var insert = new Npgsql.NpgsqlCommand(
                "insert into two_factor_users (user_id, enabled_at, updated_at) values ($1, now(), now())", connection)
            {
                Parameters = { new() { Value = userId } },
            };
            await insert.ExecuteNonQueryAsync();
        }
    }

    private static bool VerifiesWithPackage(string secret, ReceivedWebhook received)
    {
        var headers = new Microsoft.AspNetCore.Http.HeaderDictionary
        {
            ["webhook-id"] = received.Id,
            ["webhook-timestamp"] = received.Timestamp,
            ["webhook-signature"] = received.Signature,
        };
        try
        {
            new StandardWebhooks.StandardWebhook(secret).Verify(received.Body, headers);
            return true;
        }
        catch (StandardWebhooks.Diagnostics.WebhookVerificationException)
        {
            return false;
        }
    }

    [Test]
    public async Task A_service_killed_mid_delivery_loses_nothing_after_restart()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hang();
        var users = Enumerable.Range(0, 5).Select(_ => AuthApp.NewUserId("crash")).ToList();
        await HadTwoFactorAsync(users); // a reset of a user without 2FA sends no two_factor.reset
        Endpoint? endpoint = null;
        try
        {
            var first = await Instances.StartAsync(Environment());
            try
            {
                using var admin = first.Client(Instances.AdminKey);
                endpoint = await SubscribeAsync(admin, receiver, "two_factor.reset");
                var arrival = receiver.NextArrival();
                foreach (var userId in users)
                {
                    var reset = await admin.PostAsJsonAsync($"/v1/users/{userId}/two-factor/reset", new { reason = "crash test", ticket = "T-1" });
                    Assert.That(reset.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                }

                await arrival.WaitAsync(TimeSpan.FromSeconds(30));
                await Task.Delay(500); // the rest of that batch (other users' queues are sent concurrently)
            }
            finally
            {
                await first.DisposeAsync(); // killed while the receiver holds its request
            }

            await RestartAndCheckAsync(receiver, users, endpoint!); // set, or the block above threw
        }
        finally
        {
            // Whatever failed, no later test of the shared database finds this endpoint subscribed to its resets.
            if (endpoint is not null)
            {
                await DeleteEndpointsAsync(TestDatabase.ConnectionString, endpoint.Id);
            }
        }
    }

    /// <summary>After the kill: the deliveries that were in flight are delivered again, once, and everything else once.</summary>
    private static async Task RestartAndCheckAsync(WebhookReceiver receiver, List<string> users, Endpoint endpoint)
    {
        // A delivery whose request was on its way at the kill is still read and recorded: wait for the dead process's
        // connections to end before taking which deliveries were in flight.
        Assert.That(await receiver.NoConnectionsAsync(TimeSpan.FromSeconds(15)), Is.True, "the killed service's connections to the receiver ended");
        var inFlight = receiver.Received.Select(r => r.Id).ToHashSet();
        receiver.Release();
        receiver.AnswerWith(204);
        await using var restarted = await Instances.StartAsync(Environment());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (users.Any(u => For(receiver, u).Count == 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        var arrivals = receiver.Received.Where(r => r.UserId is { } u && users.Contains(u)).ToList();
        var duplicates = arrivals.Count - arrivals.Select(r => r.Id).Distinct().Count();
        TestContext.Out.WriteLine($"{users.Count} events, {inFlight.Count} in flight at the kill, {arrivals.Count} arrivals, {duplicates} duplicate(s)");
        Assert.Multiple(() =>
        {
            Assert.That(users.Select(u => For(receiver, u).Count), Has.All.EqualTo(1), "every event arrived after the restart");
            Assert.That(arrivals.Select(r => r.SignatureValid), Has.All.True);
            // The C# example of docs/OPERATIONS.md: the package's Verify, which also checks the timestamp (real clock here).
            Assert.That(arrivals.Select(r => VerifiesWithPackage(endpoint.Secret, r)), Has.All.True);
            Assert.That(inFlight, Is.Not.Empty);
            Assert.That(duplicates, Is.EqualTo(inFlight.Count), "only the attempts whose outcome the kill made unknown repeat");
            Assert.That(arrivals.GroupBy(r => r.Id).Where(g => g.Count() > 1).Select(g => g.Key), Is.EquivalentTo(inFlight));
        });

        using var admin = restarted.Client(Instances.AdminKey);
        var deliveries = await admin.GetFromJsonAsync<JsonElement>($"/v1/webhooks/{endpoint.Id}/deliveries");
        Assert.That(deliveries.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("status").GetString()),
            Has.All.EqualTo("delivered"));
    }
}
