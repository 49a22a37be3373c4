using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.Webhooks;
using AuthService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AuthService.Tests.Webhooks;

/// <summary>What webhook tests share: a loopback receiver, endpoints created through the API (deleted afterwards, so
/// no later fixture sees their deliveries), and dispatch driven explicitly on the app's fake clock.</summary>
public static class WebhookTesting
{
    public sealed record Endpoint(Guid Id, string Secret);

    public static async Task<Endpoint> CreateEndpointAsync(HttpClient admin, string url, params string[] events)
    {
        var response = await admin.PostAsJsonAsync("/v1/webhooks", new { url, events, description = "tests" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        return new Endpoint(body.GetProperty("id").GetGuid(), body.GetProperty("secret").GetString()!);
    }

    public static async Task<Endpoint> SubscribeAsync(HttpClient admin, WebhookReceiver receiver, params string[] events)
    {
        var endpoint = await CreateEndpointAsync(admin, receiver.Url, events.Length == 0 ? ["*"] : events);
        receiver.Secret = endpoint.Secret;
        return endpoint;
    }

    public static WebhookDispatcher Dispatcher(AuthApp app) => app.Services.GetRequiredService<WebhookDispatcher>();

    /// <summary>Dispatch passes on every app at once (real concurrent connections) until none finds anything due.</summary>
    public static async Task<int> DrainAsync(params AuthApp[] apps)
    {
        var total = 0;
        while (true)
        {
            var attempted = (await Task.WhenAll(apps.Select(a => Dispatcher(a).DispatchOnceAsync(CancellationToken.None)))).Sum();
            if (attempted == 0)
            {
                return total;
            }

            total += attempted;
        }
    }

    public static async Task DeleteEndpointsAsync(string connectionString, params Guid[] ids)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("delete from webhook_endpoints where id = any(@ids)", connection);
        command.Parameters.AddWithValue("ids", ids);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The valid, signed requests for one user, first arrival of each webhook-id, in arrival order.</summary>
    public static List<ReceivedWebhook> For(WebhookReceiver receiver, string userId) =>
        receiver.Received.Where(r => r.UserId == userId).DistinctBy(r => r.Id).ToList();
}
