using System.Diagnostics.Tracing;
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

    /// <summary>prometheus-net starts its default listeners at the first scrape. Its event-counter adapter would enable
    /// ASP.NET Core's EventSources at Informational level (an event per request start and stop), and its meter adapter would
    /// listen to every meter, the per-request ones of hosting, routing and authentication included (issue 27). Only the
    /// meters of <c>ServiceMetrics.PublishedMeters</c> are published; the runtime's is what OPERATIONS.md names.</summary>
    [Test]
    public async Task A_scrape_turns_on_the_runtime_meter_and_no_per_request_listener()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        using var anonymous = app.CreateClient();
        await anonymous.GetStringAsync("/metrics");
        var user = await Flows.EnableTotpAsync(app, client);
        (await Flows.VerifyAsync(client, user.UserId, new { code = Flows.Code(user.Secret, app.Time.GetUtcNow()) })).EnsureSuccessStatusCode();

        var metrics = await anonymous.GetStringAsync("/metrics");

        Assert.That(metrics, Does.Contain("system_runtime_dotnet_gc_collections"));
        Assert.That(metrics, Does.Not.Contain("microsoft_aspnetcore_hosting_"), "hosting's event counters or meter");
        Assert.That(metrics, Does.Not.Contain("microsoft_aspnetcore_routing_"));
        Assert.That(metrics, Does.Not.Contain("microsoft_aspnetcore_authentication_"));
        var hosting = EventSource.GetSources().Single(source => source.Name == "Microsoft.AspNetCore.Hosting");
        Assert.That(hosting.IsEnabled(), Is.False, "an in-process listener has hosting's per-request events on");
    }
}
