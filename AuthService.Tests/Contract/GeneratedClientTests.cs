using AuthService.Client;
using AuthService.Client.Models;
using AuthService.Tests.Infrastructure;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using OtpNet;

namespace AuthService.Tests.Contract;

/// <summary>An integrator's view: the C# client Kiota generates from openapi.yaml (clients/dotnet, generated at build
/// time) drives enrollment, confirmation, verification and an error, reading every field as a typed property — the
/// phone enrollment's fields through <c>EnrollmentStarted</c>, the problem's <c>code</c> as an enum. The HttpClient
/// under it is the contract-checked one, so the same answers are also validated against the document.</summary>
public class GeneratedClientTests : AppFixture
{
    protected override bool SendsCodes => true;

    private AuthServiceClient _api = null!;

    [OneTimeSetUp]
    public void CreateGeneratedClient() =>
        _api = new AuthServiceClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: Client)
        {
            BaseUrl = Client.BaseAddress!.ToString().TrimEnd('/'),
        });

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    /// <summary>A phone enrollment: the <c>oneOf</c> alternative, its <c>method</c> set by the generated type.</summary>
    private static EnrollRequest Phone(string phone) => new()
    {
        PhoneEnrollRequest = new PhoneEnrollRequest { Method = PhoneEnrollRequest_method.Phone, PhoneNumber = phone, Channel = PhoneEnrollRequest_channel.Sms },
    };

    [Test]
    public async Task Totp_enroll_confirm_verify_and_a_wrong_code_through_the_generated_client()
    {
        var userId = AuthApp.NewUserId("kiota");
        var user = _api.V1.Users[userId].TwoFactor;

        var started = await user.Enroll.PostAsync(new EnrollRequest { TotpEnrollRequest = new TotpEnrollRequest { Method = TotpEnrollRequest_method.Totp, AccountName = "ann@example.com" } });
        Assert.That(started?.PhoneEnrollmentResponse, Is.Null);
        var totp = started?.TotpEnrollmentResponse;
        Assert.That(totp, Is.Not.Null, "a 201 must read as the TOTP shape");
        Assert.That(totp!.OtpauthUri, Does.StartWith("otpauth://totp/"));
        var secret = Base32Encoding.ToBytes(totp.Secret);

        var confirmed = await user.Enroll.Confirm.PostAsync(new CodeRequest { Code = Flows.Code(secret, Now) });
        Assert.That(confirmed?.Enabled, Is.True);
        Assert.That(confirmed!.BackupCodes, Has.Count.EqualTo(10));
        App.Time.Advance(TimeSpan.FromSeconds(30));

        var verified = await user.Verify.PostAsync(new VerifyRequest { Code = Flows.Code(secret, Now) });
        Assert.That(verified?.Verified, Is.True);
        Assert.That(verified!.Method, Is.EqualTo(VerifyResponse_method.Totp));

        var wrong = await Assert.ThrowsAsync<ProblemDetails>(() => user.Verify.PostAsync(new VerifyRequest { Code = "000000" }));
        Assert.That(wrong!.Code, Is.EqualTo(ProblemDetails_code.Invalid_code));
        Assert.That(wrong.ResponseStatusCode, Is.EqualTo(422));

        var status = await user.GetAsync();
        Assert.That(status?.Enabled, Is.True);
        Assert.That(status!.Pending, Is.Null);
    }

    [Test]
    public async Task Phone_enroll_reads_the_phone_shape_and_confirms_with_the_sent_code()
    {
        var userId = AuthApp.NewUserId("kiota-phone");
        var phone = PhoneFactorTests.NewPhone();
        var user = _api.V1.Users[userId].TwoFactor;

        var started = await user.Enroll.PostAsync(Phone(phone));
        Assert.That(started?.TotpEnrollmentResponse, Is.Null);
        var sent = started?.PhoneEnrollmentResponse;
        Assert.That(sent, Is.Not.Null, "a 202 must read as the phone shape");
        Assert.Multiple(() =>
        {
            Assert.That(sent!.PhoneNumber, Is.EqualTo("+1******" + phone[^4..]));
            Assert.That(sent.Channel, Is.EqualTo("sms"));
            Assert.That(sent.ExpiresAt, Is.EqualTo(Now.AddMinutes(10)));
        });

        var pending = await user.GetAsync();
        Assert.That(pending?.Pending?.Method, Is.EqualTo("phone"));

        var confirmed = await user.Enroll.Confirm.PostAsync(new CodeRequest { Code = Telnyx.LastCodeTo(phone) });
        Assert.That(confirmed?.Method, Is.EqualTo("phone"));

        var again = await Assert.ThrowsAsync<ProblemDetails>(() =>
            user.Enroll.PostAsync(Phone(phone)));
        Assert.That(again!.Code, Is.EqualTo(ProblemDetails_code.Two_factor_already_enabled));
    }

    [Test]
    public async Task A_phone_challenge_answers_202_and_reads_as_the_phone_shape()
    {
        var phone = await Flows.EnablePhoneAsync(Client, Telnyx, "kiota-challenge");
        var user = _api.V1.Users[phone.UserId].TwoFactor;

        var started = await user.Challenge.PostAsync(new ChallengeRequest { Channel = ChallengeRequest_channel.Call });
        Assert.That(started?.PasskeyChallengeResponse, Is.Null);
        var sent = started?.ChallengeResponse;
        Assert.That(sent, Is.Not.Null, "a 202 must read as the phone shape, not through the passkey one");
        Assert.Multiple(() =>
        {
            Assert.That(sent!.Method, Is.EqualTo(ChallengeResponse_method.Phone));
            Assert.That(sent.Channel, Is.EqualTo("call"));
            Assert.That(sent.PhoneNumber, Is.EqualTo("+1******" + phone.Phone[^4..]));
            Assert.That(sent.Purpose, Is.EqualTo("login"));
        });

        var verified = await user.Verify.PostAsync(new VerifyRequest { Code = Telnyx.LastCodeTo(phone.Phone) });
        Assert.That(verified?.Method, Is.EqualTo(VerifyResponse_method.Phone));

        var wrong = await Assert.ThrowsAsync<ProblemDetails>(() => user.Challenge.PostAsync(new ChallengeRequest { Channel = ChallengeRequest_channel.Passkey }));
        Assert.That(wrong!.Code, Is.EqualTo(ProblemDetails_code.Passkeys_not_configured).Or.EqualTo(ProblemDetails_code.No_challenge_for_method), wrong.Detail);
        Assert.That(wrong.ResponseStatusCode, Is.EqualTo(409));
    }

    [Test]
    public async Task A_validation_problem_carries_its_code_as_a_typed_property()
    {
        var user = _api.V1.Users[AuthApp.NewUserId("kiota-bad")].TwoFactor;
        var problem = await Assert.ThrowsAsync<ProblemDetails>(() =>
            user.Enroll.PostAsync(Phone("3035550123")));
        Assert.Multiple(() =>
        {
            Assert.That(problem!.Code, Is.EqualTo(ProblemDetails_code.Invalid_phone_number));
            Assert.That(problem.Status, Is.EqualTo(400));
            Assert.That(problem.Type, Does.EndWith("/invalid_phone_number"));
        });
    }
}
