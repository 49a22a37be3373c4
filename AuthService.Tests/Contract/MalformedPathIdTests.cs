using System.Net;
using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.Contract;

/// <summary>DESIGN §9.6: a malformed path id is a documented problem+json answer. A <c>{factorId:guid}</c>,
/// <c>{deviceId:guid}</c>, <c>{id:guid}</c> or <c>{deliveryId:long}</c> that does not parse matches no route, so the framework
/// answers 404 <c>not_found</c> (status-code pages, <c>Http/ErrorHandling</c>) before the API key is even looked at. Every
/// route with a typed id is found from the app's own route table, so a new one is covered without touching this test; the
/// contract-checked clients then hold each answer's <c>code</c> to the codes openapi.yaml declares for that operation's 404.</summary>
public class MalformedPathIdTests : AppFixture
{
    private static readonly Regex Typed = new(@"\{(\w+):(\w+)\}");

    /// <summary>Per route template with a typed id: the method, and a path with that one id malformed (every other part valid).</summary>
    private List<(string Method, string Path)> Cases()
    {
        var cases = new List<(string, string)>();
        var routes = App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.StartsWith("/v1/", StringComparison.Ordinal) && Typed.IsMatch(raw));
        foreach (var route in routes)
        {
            var template = route.RoutePattern.RawText!.Replace("{userId}", "malformed-id-user", StringComparison.Ordinal);
            foreach (Match malformed in Typed.Matches(template))
            {
                foreach (var bad in malformed.Groups[2].Value == "long" ? new[] { "abc", "1.5", "99999999999999999999" } : new[] { "not-a-uuid", "12345", "0195a3c1-9d20-7f1e-8a2b" })
                {
                    var path = Typed.Replace(template, m => m.Index == malformed.Index ? bad
                        : m.Groups[2].Value == "long" ? "1" : Guid.NewGuid().ToString());
                    foreach (var method in route.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
                    {
                        cases.Add((method, path));
                    }
                }
            }
        }

        return cases;
    }

    [Test]
    public async Task A_malformed_path_id_is_a_404_not_found_with_or_without_a_key()
    {
        var cases = Cases();
        Assert.That(cases.Select(c => c.Path), Has.Some.Contains("/factors/").And.Some.Contains("/devices/").And.Some.Contains("/api-keys/")
            .And.Some.Contains("/webhooks/").And.Some.Contains("/redeliver"), "every kind of typed id is exercised");
        using var anonymous = App.CreateClient();
        foreach (var (method, path) in cases)
        {
            foreach (var client in new[] { Client, anonymous })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                // Answered 404 `not_found`, and by the contract-checked client: a code the operation does not declare would fail here.
                await ProblemAssert.IsProblemAsync(await client.SendAsync(request), HttpStatusCode.NotFound, "not_found");
            }
        }
    }
}
