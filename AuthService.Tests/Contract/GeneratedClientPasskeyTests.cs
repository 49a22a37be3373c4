using AuthService.Client;
using AuthService.Client.Models;
using AuthService.Tests.Passkeys;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

namespace AuthService.Tests.Contract;

/// <summary>The generated C# client against a relying party: a passkey challenge answers 200 and reads as the passkey
/// shape of <c>ChallengeStarted</c> (before DESIGN §9.6 Kiota kept one schema per operation, so the phone 202 and the
/// passkey 200 could not both be read), and a passkey user asking for an SMS gets a typed problem code.</summary>
public class GeneratedClientPasskeyTests : PasskeyFixture
{
    private AuthServiceClient _api = null!;

    [OneTimeSetUp]
    public void CreateGeneratedClient() =>
        _api = new AuthServiceClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: Client)
        {
            BaseUrl = Client.BaseAddress!.ToString().TrimEnd('/'),
        });

    [Test]
    public async Task A_passkey_challenge_answers_200_and_reads_as_the_passkey_shape()
    {
        var userId = Infrastructure.AuthApp.NewUserId("kiota-passkey");
        using var passkey = (await EnablePasskeyAsync(userId)).Passkey;
        var user = _api.V1.Users[userId].TwoFactor;

        var started = await user.Challenge.PostAsync(new ChallengeRequest { Channel = ChallengeRequest_channel.Passkey, Purpose = ChallengeRequest_purpose.Proof });
        Assert.That(started?.ChallengeResponse, Is.Null);
        var options = started?.PasskeyChallengeResponse;
        Assert.That(options, Is.Not.Null, "a 200 must read as the passkey shape");
        Assert.Multiple(() =>
        {
            Assert.That(options!.Method, Is.EqualTo(PasskeyChallengeResponse_method.Passkey));
            Assert.That(options.Purpose, Is.EqualTo("proof"));
            Assert.That(options.Options!.RpId, Is.EqualTo(RpId));
            Assert.That(options.Options.AllowCredentials!.Select(c => c.Id), Is.EquivalentTo(new[] { passkey.Id }));
            Assert.That(options.Options.Challenge, Is.Not.Empty);
        });

        var sms = await Assert.ThrowsAsync<ProblemDetails>(() => user.Challenge.PostAsync(new ChallengeRequest { Channel = ChallengeRequest_channel.Sms }));
        Assert.That(sms!.Code, Is.EqualTo(ProblemDetails_code.No_challenge_for_method), sms.Detail);
        Assert.That(sms.ResponseStatusCode, Is.EqualTo(409));
    }
}
