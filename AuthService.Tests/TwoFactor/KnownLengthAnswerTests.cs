using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.TwoFactor;

/// <summary>A 200 of verify (and of every route answering through <c>ResultAnswers.ToOk</c>) goes with its
/// <c>Content-Length</c>, so Kestrel sends it in one write instead of chunked (issue 27). The body is the same JSON.</summary>
public class KnownLengthAnswerTests : AppFixture
{
    [Test]
    public async Task A_verified_login_answers_with_its_length()
    {
        var user = await Flows.EnableTotpAsync(App, Client);

        var response = await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) });
        // Read before anything touches ContentLength: that getter computes and stores a buffered body's length itself.
        var sent = response.Content.Headers.NonValidated.TryGetValues("Content-Length", out var values) ? values.ToString() : null;
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Multiple(() =>
        {
            Assert.That(sent, Is.EqualTo(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(response.Headers.TransferEncodingChunked, Is.Not.True);
            Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json; charset=utf-8"));
            var body = JsonSerializer.Deserialize<JsonElement>(bytes);
            Assert.That(body.GetProperty("verified").GetBoolean(), Is.True);
            Assert.That(body.GetProperty("method").GetString(), Is.EqualTo("totp"));
        });
    }

    [Test]
    public async Task A_refused_code_is_still_a_problem()
    {
        var user = await Flows.EnableTotpAsync(App, Client);

        var wrong = Flows.Code(user.Secret, Now) == "000000" ? "111111" : "000000";
        var response = await Flows.VerifyAsync(Client, user.UserId, new { code = wrong });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString(), Is.EqualTo("invalid_code"));
    }
}
