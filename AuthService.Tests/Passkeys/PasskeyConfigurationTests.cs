using System.Net;
using System.Net.Http.Json;
using AuthService.Api.TwoFactor.Passkeys;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Passkeys;

/// <summary><c>Passkeys:*</c> is checked at start (the process refusal itself: ProductionInstanceTests); without a relying party the method is off, not broken.</summary>
public class PasskeyConfigurationTests
{
    [TestCase("https://example.com", "https://example.com", "without scheme")]
    [TestCase("Example.com", "https://example.com", "lowercase")]
    [TestCase("example.com", "http://example.com", "https")]
    [TestCase("example.com", "https://example.org", "not on")]
    [TestCase("example.com", "https://example.com/login", "nothing after it")]
    [TestCase("127.0.0.1", "http://127.0.0.1:3000", "domain name")]
    public void A_wrong_relying_party_is_explained(string rpId, string origin, string explained) =>
        Assert.That(new PasskeyOptions { RelyingPartyId = rpId, Origins = [origin] }.Problem(), Does.Contain(explained));

    [Test]
    public void Origins_without_a_relying_party_id_are_refused() =>
        Assert.That(new PasskeyOptions { Origins = ["https://example.com"] }.Problem(), Does.Contain("RelyingPartyId is not"));

    [Test]
    public void A_relying_party_without_origins_is_refused() =>
        Assert.That(new PasskeyOptions { RelyingPartyId = "example.com" }.Problem(), Does.Contain("at least one origin"));

    [TestCase("localhost", "http://localhost:3000")]
    [TestCase("example.com", "https://login.example.com")]
    [TestCase("example.com", "https://example.com:8443/")]
    public void Valid_relying_parties_pass(string rpId, string origin) =>
        Assert.That(new PasskeyOptions { RelyingPartyId = rpId, Origins = [origin] }.Problem(), Is.Null);

    [Test]
    public async Task Without_a_relying_party_the_passkey_method_is_off()
    {
        using var app = new AuthApp(connectionString: PasskeyFixture.Database.Value);
        using var client = app.AdminClient();
        var userId = AuthApp.NewUserId();
        var response = await client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "passkey" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "passkeys_not_configured");
    }
}
