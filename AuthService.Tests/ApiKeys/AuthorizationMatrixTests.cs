using System.Net;
using System.Net.Http.Json;
using System.Text;
using AuthService.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.ApiKeys;

/// <summary>Every route of the API against every kind of caller: no key, an unknown key, a revoked key,
/// and a key of each scope. The expected scopes are written out here (DESIGN §3), not read from the code.</summary>
public class AuthorizationMatrixTests
{
    private const string V = "verify", M = "manage", A = "admin";

    private static readonly Dictionary<string, string[]> Expected = new()
    {
        ["GET /v1/users/{userId}/two-factor"] = [V, M, A],
        ["POST /v1/users/{userId}/two-factor/enroll"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/enroll/confirm"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/challenge"] = [V, A],
        ["POST /v1/users/{userId}/two-factor/verify"] = [V, A],
        ["POST /v1/users/{userId}/two-factor/switch-method"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/switch-method/confirm"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/factors"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/factors/{factorId:guid}/confirm"] = [M, A],
        ["PATCH /v1/users/{userId}/two-factor/factors/{factorId:guid}"] = [M, A],
        ["DELETE /v1/users/{userId}/two-factor/factors/{factorId:guid}"] = [M, A],
        ["GET /v1/users/{userId}/two-factor/backup-codes"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/backup-codes"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/prompt/skip"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/reset"] = [A],
        ["GET /v1/users/{userId}/two-factor/events"] = [A],
        ["POST /v1/users/{userId}/two-factor/bypass-codes"] = [A],
        ["DELETE /v1/users/{userId}/two-factor/bypass-codes"] = [A],
        ["POST /v1/login-decisions"] = [V, A],
        ["GET /v1/users/{userId}/two-factor/devices"] = [M, A],
        ["DELETE /v1/users/{userId}/two-factor/devices/{deviceId:guid}"] = [M, A],
        ["POST /v1/users/{userId}/two-factor/devices/revoke-all"] = [M, A],
        ["POST /v1/api-keys"] = [A],
        ["GET /v1/api-keys"] = [A],
        ["GET /v1/api-keys/{id:guid}"] = [A],
        ["DELETE /v1/api-keys/{id:guid}"] = [A],
        ["POST /v1/webhooks"] = [A],
        ["GET /v1/webhooks"] = [A],
        ["GET /v1/webhooks/{id:guid}"] = [A],
        ["DELETE /v1/webhooks/{id:guid}"] = [A],
        ["GET /v1/webhooks/{id:guid}/deliveries"] = [A],
        ["POST /v1/webhooks/{id:guid}/deliveries/{deliveryId:long}/redeliver"] = [A],
    };

    private AuthApp _app = null!;
    private Dictionary<string, HttpClient> _byScope = null!;
    private HttpClient _revoked = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _app = new AuthApp();
        _byScope = new Dictionary<string, HttpClient>
        {
            [V] = await _app.ClientWithScopesAsync(V),
            [M] = await _app.ClientWithScopesAsync(M),
            [A] = await _app.ClientWithScopesAsync(A),
        };

        using var admin = _app.AdminClient();
        var created = await (await admin.PostAsJsonAsync("/v1/api-keys", new { name = "to revoke", scopes = new[] { A } }))
            .Content.ReadFromJsonAsync<CreatedKey>();
        (await admin.DeleteAsync($"/v1/api-keys/{created!.Id}")).EnsureSuccessStatusCode();
        _revoked = _app.ClientWithKey(created.Key);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        foreach (var client in _byScope.Values)
        {
            client.Dispose();
        }

        _revoked.Dispose();
        _app.Dispose();
    }

    private sealed record CreatedKey(Guid Id, string Key);

    private IEnumerable<string> ServedRoutes() =>
        _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {e.RoutePattern.RawText!.TrimEnd('/')}"));

    [Test]
    public void Every_served_route_is_in_the_matrix()
    {
        Assert.That(ServedRoutes().Except(Expected.Keys), Is.Empty, "routes without an expected scope");
    }

    /// <summary>Routes that take no API key but a provider's signature (SmsFallback.TelnyxSignatureTests).</summary>
    private static readonly string[] SignedByProvider = ["POST /telnyx/messaging-events"];

    [Test]
    public async Task The_telnyx_callback_takes_no_api_key_but_telnyx_signature()
    {
        var served = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/telnyx", StringComparison.Ordinal) == true)
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => $"{m} {e.RoutePattern.RawText}"));
        Assert.That(served, Is.EquivalentTo(SignedByProvider));
        using var none = _app.ClientWithKey(null);
        foreach (var client in new[] { none, _byScope[A] })
        {
            var response = await client.SendAsync(Request(SignedByProvider[0]));
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "telnyx_signature_missing");
        }
    }

    [Test]
    public void There_is_no_route_that_disables_two_factor()
    {
        // The DELETEs under a user remove a factor other than the last (409 last_factor:
        // Factors.SeveralFactorsTests.A_factor_is_removed_only_with_a_proof_of_another_and_never_the_last), a remembered device,
        // and support bypass codes (admin): each leaves the user's 2FA in place.
        Assert.That(ServedRoutes().Where(r => r.StartsWith("DELETE /v1/users", StringComparison.Ordinal) || r.Contains("disable")),
            Is.EquivalentTo(new[]
            {
                "DELETE /v1/users/{userId}/two-factor/factors/{factorId:guid}", "DELETE /v1/users/{userId}/two-factor/devices/{deviceId:guid}",
                "DELETE /v1/users/{userId}/two-factor/bypass-codes",
            }));
    }

    private static HttpRequestMessage Request(string route)
    {
        var (method, template) = (route[..route.IndexOf(' ')], route[(route.IndexOf(' ') + 1)..]);
        var url = template.Replace("{userId}", AuthApp.NewUserId("matrix")).Replace("{id:guid}", Guid.NewGuid().ToString())
            .Replace("{factorId:guid}", Guid.NewGuid().ToString()).Replace("{deviceId:guid}", Guid.NewGuid().ToString())
            .Replace("{deliveryId:long}", "1");
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "POST")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        return request;
    }

    private IEnumerable<string> Routes() => ServedRoutes();

    [Test]
    public async Task Missing_unknown_malformed_and_revoked_keys_get_401()
    {
        using var none = _app.ClientWithKey(null);
        using var unknown = _app.ClientWithKey("ask_not_a_real_key");
        using var basic = _app.CreateClient();
        basic.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "YWRtaW46YWRtaW4=");
        foreach (var route in Routes())
        {
            foreach (var (name, client) in new[] { ("none", none), ("unknown", unknown), ("basic", basic), ("revoked", _revoked) })
            {
                var response = await client.SendAsync(Request(route));
                await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
                Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"), $"{route} with {name} key");
            }
        }
    }

    [Test]
    public async Task Each_scope_reaches_exactly_its_routes()
    {
        foreach (var route in Routes())
        {
            foreach (var (scope, client) in _byScope)
            {
                var response = await client.SendAsync(Request(route));
                if (Expected[route].Contains(scope))
                {
                    Assert.That(response.StatusCode, Is.Not.AnyOf(HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden),
                        $"{route} with scope {scope}");
                    Assert.That((int)response.StatusCode, Is.LessThan(500), $"{route} with scope {scope}");
                }
                else
                {
                    await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
                }
            }
        }
    }
}

public class ApiKeyRevocationTests
{
    [Test]
    public async Task A_key_revoked_on_another_instance_stops_working_within_the_cache_time()
    {
        using var first = new AuthApp();
        using var second = new AuthApp(connectionString: first.ConnectionString);
        second.Time.SetUtcNow(first.Time.GetUtcNow());
        using var admin = first.AdminClient();
        var created = await (await admin.PostAsJsonAsync("/v1/api-keys", new { name = "portal", scopes = new[] { "verify" } }))
            .Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        using var onSecond = second.ClientWithKey(created.GetProperty("key").GetString());
        var url = $"/v1/users/{AuthApp.NewUserId()}/two-factor";
        Assert.That((await onSecond.GetAsync(url)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        (await admin.DeleteAsync($"/v1/api-keys/{created.GetProperty("id").GetString()}")).EnsureSuccessStatusCode();

        second.Time.Advance(TimeSpan.FromSeconds(5));
        await ProblemAssert.IsProblemAsync(await onSecond.GetAsync(url), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
