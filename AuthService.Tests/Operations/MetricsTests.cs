using System.Net;
using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Operations;

public class MetricsTests
{
    private static double Value(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    [Test]
    public async Task Verifications_are_counted_by_method_and_outcome_and_latency_by_route_without_user_ids()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        using var anonymous = app.CreateClient();
        var user = await Flows.EnableTotpAsync(app, client);
        var before = await anonymous.GetStringAsync("/metrics");

        (await Flows.VerifyAsync(client, user.UserId, new { code = Flows.Code(user.Secret, app.Time.GetUtcNow()) })).EnsureSuccessStatusCode();
        await Flows.VerifyAsync(client, user.UserId, new { code = "000000" });

        var response = await anonymous.GetAsync("/metrics");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var after = await response.Content.ReadAsStringAsync();
        const string success = "authservice_verifications_total{method=\"totp\",outcome=\"success\"}";
        const string invalid = "authservice_verifications_total{method=\"totp\",outcome=\"invalid_code\"}";
        Assert.That(Value(after, success) - Value(before, success), Is.EqualTo(1));
        Assert.That(Value(after, invalid) - Value(before, invalid), Is.EqualTo(1));
        Assert.That(after, Does.Contain("http_request_duration_seconds_bucket"));
        Assert.That(after, Does.Contain("/v1/users/{userId}/two-factor/verify"));
        Assert.That(after, Does.Not.Contain(user.UserId));
        Assert.That(after, Does.Contain("authservice_telephony_circuit_state"));
    }
}
