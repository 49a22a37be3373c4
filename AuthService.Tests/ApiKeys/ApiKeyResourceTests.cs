using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.ApiKeys;

/// <summary>A created key's <c>Location</c> is a route that answers: it named <c>/v1/api-keys/{id}</c>, where only DELETE was
/// served (GET → 405).</summary>
public class ApiKeyResourceTests
{
    [Test]
    public async Task The_location_of_a_created_key_answers_with_the_key_revoked_or_not_and_never_the_key()
    {
        using var app = new AuthApp();
        using var admin = app.AdminClient();
        var created = await admin.PostAsJsonAsync("/v1/api-keys", new { name = "portal", scopes = new[] { "verify" } });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var location = created.Headers.Location!.ToString();

        var read = await admin.GetAsync(location);
        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK), await read.Content.ReadAsStringAsync());
        var text = await read.Content.ReadAsStringAsync();
        var key = JsonDocument.Parse(text).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(key.GetProperty("id").GetString(), Is.EqualTo(body.GetProperty("id").GetString()));
            Assert.That(key.GetProperty("name").GetString(), Is.EqualTo("portal"));
            Assert.That(key.GetProperty("prefix").GetString(), Is.EqualTo(body.GetProperty("prefix").GetString()));
            Assert.That(key.GetProperty("revokedAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(text, Does.Not.Contain(body.GetProperty("key").GetString()!), "never the key");
        });

        (await admin.DeleteAsync(location)).EnsureSuccessStatusCode();
        var revoked = await admin.GetFromJsonAsync<JsonElement>(location);
        Assert.That(revoked.GetProperty("revokedAt").ValueKind, Is.EqualTo(JsonValueKind.String));

        await ProblemAssert.IsProblemAsync(await admin.GetAsync($"/v1/api-keys/{Guid.NewGuid()}"), HttpStatusCode.NotFound, "api_key_not_found");
        using var verifyOnly = app.ClientWithKey(body.GetProperty("key").GetString());
        await ProblemAssert.IsProblemAsync(await verifyOnly.GetAsync(location), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
