using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace AuthService.Tests.Contract;

/// <summary>The API answers JSON whatever the caller's <c>Accept</c>, errors included. ASP.NET Core's problem writer declines
/// when <c>Accept</c> names neither JSON nor a wildcard: an error raised outside an endpoint (a body that is not JSON, an
/// unknown route) then went out with its status and no body, or as <c>text/plain</c>, without its <c>code</c>.</summary>
public class AcceptHeaderTests : AppFixture
{
    [TestCase("text/plain")]
    [TestCase("text/html, application/xhtml+xml")]
    [TestCase("application/xml")]
    public async Task A_body_that_is_not_json_is_a_problem_whatever_the_caller_accepts(string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/login-decisions")
        {
            Content = new StringContent("{", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd(accept);

        var problem = await ProblemAssert.IsProblemAsync(await Client.SendAsync(request), HttpStatusCode.BadRequest, "invalid_json");
        Assert.That(problem.GetProperty("traceId").GetString(), Is.Not.Empty);
    }

    [TestCase("text/html")]
    [TestCase("image/png")]
    public async Task An_unknown_route_is_a_problem_whatever_the_caller_accepts(string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/no-such-route");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));

        await ProblemAssert.IsProblemAsync(await Client.SendAsync(request), HttpStatusCode.NotFound, "not_found");
    }
}
