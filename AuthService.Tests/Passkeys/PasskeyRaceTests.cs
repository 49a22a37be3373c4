using System.Net;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Passkeys;

/// <summary>Single use and the attempt limit hold for passkeys under real concurrent requests (DESIGN §8.1).</summary>
public class PasskeyRaceTests : PasskeyFixture
{
    [Test]
    public async Task One_assertion_raced_ten_times_is_accepted_exactly_once()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var assertion = passkey.Assert(await ChallengeAsync(userId));
        var clients = Enumerable.Range(0, 10).Select(_ => App.AdminClient()).ToArray();
        var responses = await Race.RunAsync(10, i => Post(clients[i], userId, assertion), i => clients[i].GetAsync($"/v1/users/{userId}/two-factor"));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(1));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5), "five counted failures…");
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(4), "…then the per-minute limit");
    }

    [Test]
    public async Task Parallel_bad_assertions_get_exactly_five_422_and_the_rest_429()
    {
        var userId = AuthApp.NewUserId();
        var (passkey, _) = await EnablePasskeyAsync(userId);
        var bad = passkey.Assert(await ChallengeAsync(userId), breakSignature: true);
        var clients = Enumerable.Range(0, 20).Select(_ => App.AdminClient()).ToArray();
        var responses = await Race.RunAsync(20, i => Post(clients[i], userId, bad), i => clients[i].GetAsync($"/v1/users/{userId}/two-factor"));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(15));
    }

    private static Task<HttpResponseMessage> Post(HttpClient client, string userId, object credential) =>
        System.Net.Http.Json.HttpClientJsonExtensions.PostAsJsonAsync(client, $"/v1/users/{userId}/two-factor/verify", new { credential });
}
