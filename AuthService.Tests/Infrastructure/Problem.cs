using System.Net;
using System.Text.Json;

namespace AuthService.Tests.Infrastructure;

/// <summary>Assertions on RFC 9457 problem answers.</summary>
public static class ProblemAssert
{
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(status), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        });
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("code").GetString(), Is.EqualTo(code), body);
            Assert.That(json.GetProperty("status").GetInt32(), Is.EqualTo((int)status));
            Assert.That(json.TryGetProperty("title", out _), Is.True);
            Assert.That(json.TryGetProperty("type", out _), Is.True);
            Assert.That(json.TryGetProperty("detail", out _), Is.True);
        });
        return json;
    }
}
