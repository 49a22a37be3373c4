using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AuthService.Tests.Devices;

/// <summary>The steps of the remembered-device tests (DESIGN §9.3), through the public HTTP API only.</summary>
public static class DeviceFlows
{
    public static string Url(string userId, string rest = "") => $"/v1/users/{userId}/two-factor{rest}";

    /// <summary>A fresh TOTP step, then a verify that remembers the browser; returns the token and the answer.</summary>
    public static async Task<(string Token, JsonElement Body)> RememberAsync(AuthApp app, HttpClient client, Flows.EnabledTotpUser user,
        string label = "Chrome on macOS", string? deviceToken = null)
    {
        app.Time.Advance(TimeSpan.FromSeconds(30));
        var response = await Flows.VerifyAsync(client, user.UserId,
            new { code = Flows.Code(user.Secret, app.Time.GetUtcNow()), rememberDevice = new { label }, deviceToken });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        return (body.GetProperty("deviceToken").GetString()!, body);
    }

    /// <summary>The login decision of a password login presenting <paramref name="deviceToken"/>.</summary>
    public static async Task<JsonElement> DecideAsync(HttpClient client, string userId, string? deviceToken)
    {
        var response = await client.PostAsJsonAsync("/v1/login-decisions", new { userId, loginMethod = "password", deviceToken });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        return body;
    }

    public static bool Trusted(JsonElement decision) =>
        decision.GetProperty("action").GetString() == "none" && decision.TryGetProperty("reason", out var reason) && reason.GetString() == "trusted_device";

    /// <summary>Asserts the decision is the normal one of a user with 2FA: verify, no reason.</summary>
    public static void AssertNormal(JsonElement decision, string because)
    {
        Assert.That(decision.GetProperty("action").GetString(), Is.EqualTo("verify"), because);
        Assert.That(decision.TryGetProperty("reason", out _), Is.False, because);
    }

    public static async Task<List<JsonElement>> ListAsync(HttpClient client, string userId) =>
        (await client.GetFromJsonAsync<JsonElement>(Url(userId, "/devices"))).GetProperty("devices").EnumerateArray().ToList();

    public static async Task<List<string>> EventTypesAsync(HttpClient admin, string userId) =>
        (await admin.GetFromJsonAsync<JsonElement>(Url(userId, "/events?limit=200"))).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("type").GetString()!).ToList();
}
