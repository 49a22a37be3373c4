using System.Net;
using System.Text;
using System.Text.Json;

namespace AuthService.Tests.Contract;

/// <summary>Request bodies are UTF-8 JSON (RFC 8259 §8.1). A declared charset the framework did not know, or a quoted
/// <c>"utf-8"</c> (dotnet/aspnetcore#61514), used to reach ASP.NET Core's body reader and come back as a 500 on every route
/// with a body (<c>Http/JsonCharset.cs</c>). Every route is also sent these charsets by
/// <c>HostileInputTests.Every_route_answers_hostile_input_with_a_4xx_problem_and_writes_nothing</c>.</summary>
public class RequestCharsetTests : AppFixture
{
    private Task<HttpResponseMessage> DecideAsync(string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"userId":"charset-user","loginMethod":"password"}"""));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return Client.PostAsync("/v1/login-decisions", content);
    }

    [TestCase("application/json; charset=utf-8")]
    [TestCase("Application/JSON")]
    [TestCase("application/json ; charset=utf-8")]
    [TestCase("application/json; charset=\"utf-8\"")]
    [TestCase("application/json; charset=UTF8")]
    [TestCase("application/json;charset=\"UTF-8\"")]
    public async Task A_body_declared_utf8_in_any_spelling_is_read(string contentType)
    {
        var response = await DecideAsync(contentType);

        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("action").GetString(), Is.Not.Empty);
    }

    [TestCase("application/json; charset=bogus")]
    [TestCase("application/json; charset=\"\"")]
    [TestCase("application/json; charset=utf-16")]
    [TestCase("application/json; charset=iso-8859-1")]
    [TestCase("application/json; charset=\"utf-7\"")]
    [TestCase("application/json; charset=bogus; charset=utf-8")]
    public async Task A_body_in_any_other_charset_is_refused_with_415(string contentType)
    {
        await ProblemAssert.IsProblemAsync(await DecideAsync(contentType), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    /// <summary>A JSON body is <c>application/json</c> only. The framework took any <c>application/*+json</c> for one, so a
    /// challenge sent as <c>application/problem+json</c> sent a code; each is now refused like <c>text/plain</c>, with the same
    /// title as every other 415 (RFC 9457 §3.1.3).</summary>
    [TestCase("application/problem+json")]
    [TestCase("application/vnd.api+json")]
    [TestCase("application/merge-patch+json; charset=utf-8")]
    [TestCase("text/json")]
    [TestCase("text/plain")]
    public async Task A_body_of_any_other_media_type_is_refused_with_415(string contentType)
    {
        var refused = await ProblemAssert.IsProblemAsync(await DecideAsync(contentType), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        var charset = await ProblemAssert.IsProblemAsync(await DecideAsync("application/json; charset=iso-8859-1"), HttpStatusCode.UnsupportedMediaType,
            "unsupported_media_type");
        Assert.That(refused.GetProperty("title").GetString(), Is.EqualTo(charset.GetProperty("title").GetString()));
        Assert.That(refused.GetProperty("detail").GetString(), Does.Contain("application/json"));
    }

    /// <summary>The check runs on every route, whether it reads a body or not (so openapi.yaml declares the 415 on every
    /// operation, the operator endpoints too).</summary>
    [TestCase("GET", "/v1/users/charset-user/two-factor")]
    [TestCase("GET", "/v1/api-keys")]
    [TestCase("POST", "/v1/users/charset-user/two-factor/prompt/skip")]
    [TestCase("DELETE", "/v1/users/charset-user/two-factor/bypass-codes")]
    [TestCase("GET", "/health/live")]
    [TestCase("GET", "/metrics")]
    public async Task A_route_without_a_body_refuses_a_non_utf8_charset_too(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent([]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=iso-8859-1");
        await ProblemAssert.IsProblemAsync(await Client.SendAsync(request), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Test]
    public async Task A_caller_without_a_key_learns_nothing_of_the_charset_check()
    {
        using var anonymous = App.CreateClient();
        var content = new ByteArrayContent("{}"u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=bogus");

        await ProblemAssert.IsProblemAsync(await anonymous.PostAsync("/v1/login-decisions", content), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
