using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace AuthService.Tests.Contract;

/// <summary>No answer under <c>/v1</c> may be kept by a cache: those that carry a secret shown once (here a TOTP secret, backup
/// codes and an API key), and errors too, including one the exception handler rewrote.</summary>
public class NoStoreTests : AppFixture
{
    [Test]
    public async Task Answers_carrying_a_secret_shown_once_are_not_stored()
    {
        var userId = AuthApp.NewUserId();
        var enroll = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "totp", accountName = "ann@example.com" });
        Assert.That(enroll.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var key = await Client.PostAsJsonAsync("/v1/api-keys", new { name = "no-store", scopes = new[] { "verify" } });
        Assert.That(key.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var user = await Flows.EnableTotpAsync(App, Client);
        var backupCodes = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/backup-codes",
            new { proof = new { code = Flows.Code(user.Secret, Now) } });
        Assert.That(backupCodes.StatusCode, Is.EqualTo(HttpStatusCode.Created));

        foreach (var response in new[] { enroll, key, backupCodes })
        {
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True, response.RequestMessage!.RequestUri!.ToString());
        }
    }

    [Test]
    public async Task Errors_are_not_stored_either_those_the_exception_handler_wrote_included()
    {
        using var broken = new HttpRequestMessage(HttpMethod.Post, "/v1/login-decisions") { Content = new StringContent("{", Encoding.UTF8, "application/json") };
        var thrown = await Client.SendAsync(broken); // a binding failure: the exception handler clears the answer and writes it anew
        await ProblemAssert.IsProblemAsync(thrown, HttpStatusCode.BadRequest, "invalid_json");
        var unknown = await Client.GetAsync("/v1/no-such-route");

        Assert.That(thrown.Headers.CacheControl?.NoStore, Is.True);
        Assert.That(unknown.Headers.CacheControl?.NoStore, Is.True);
    }
}
