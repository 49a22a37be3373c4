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

    [Test]
    public async Task A_caller_without_a_key_learns_nothing_of_the_charset_check()
    {
        using var anonymous = App.CreateClient();
        var content = new ByteArrayContent("{}"u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=bogus");

        await ProblemAssert.IsProblemAsync(await anonymous.PostAsync("/v1/login-decisions", content), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
