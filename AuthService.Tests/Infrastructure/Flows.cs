using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Core.Totp;
using OtpNet;

namespace AuthService.Tests.Infrastructure;

/// <summary>The steps most API tests need, driven through the public HTTP API only.</summary>
public static class Flows
{
    public sealed record EnabledTotpUser(string UserId, byte[] Secret, IReadOnlyList<string> BackupCodes);

    public static async Task<(byte[] Secret, JsonElement Body)> EnrollTotpAsync(HttpClient client, string userId,
        string accountName = "ann@example.com")
    {
        var response = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "totp", accountName });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        return (Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!), body);
    }

    public static string Code(byte[] secret, DateTimeOffset at) => TotpVerifier.Compute(secret, TotpProfile.Default, at);

    /// <summary>Enrolls and confirms with the current code, then moves the clock one period on so the
    /// next code a test computes is a fresh step.</summary>
    public static async Task<EnabledTotpUser> EnableTotpAsync(AuthApp app, HttpClient client, string? userId = null)
    {
        userId ??= AuthApp.NewUserId();
        var (secret, _) = await EnrollTotpAsync(client, userId);
        var response = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm",
            new { code = Code(secret, app.Time.GetUtcNow()) });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        var codes = body.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!).ToList();
        app.Time.Advance(TimeSpan.FromSeconds(30));
        return new EnabledTotpUser(userId, secret, codes);
    }

    public sealed record EnabledPhoneUser(string UserId, string Phone, IReadOnlyList<string> BackupCodes);

    /// <summary>Enrolls a fresh number (<see cref="TwoFactor.PhoneFactorTests.NewPhone"/>, unique across fixtures) by SMS and
    /// confirms it with the code the Telnyx stand-in received.</summary>
    public static async Task<EnabledPhoneUser> EnablePhoneAsync(HttpClient client, TelnyxStandIn telnyx, string prefix = "phone")
    {
        var userId = AuthApp.NewUserId(prefix);
        var phone = TwoFactor.PhoneFactorTests.NewPhone();
        var enroll = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enroll.Content.ReadAsStringAsync());
        var confirm = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = telnyx.LastCodeTo(phone) });
        var body = await confirm.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        return new EnabledPhoneUser(userId, phone, body.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!).ToList());
    }

    public static Task<HttpResponseMessage> VerifyAsync(HttpClient client, string userId, object body) =>
        client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/verify", body);
}
