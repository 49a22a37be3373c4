using AuthService.Core.Totp;

namespace AuthService.Tests.Core;

public class OtpAuthUriTests
{
    private static readonly byte[] Secret = Enumerable.Range(1, 20).Select(i => (byte)i).ToArray();

    [Test]
    public void Follows_the_key_uri_format_with_issuer_prefix_and_parameter()
    {
        var uri = OtpAuthUri.Build("AuthService", "ann@example.com", Secret, TotpProfile.Default);
        Assert.That(uri, Is.EqualTo(
            "otpauth://totp/AuthService:ann%40example.com?secret=AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYU&issuer=AuthService&algorithm=SHA1&digits=6&period=30"));
    }

    [Test]
    public void Encodes_spaces_and_reserved_characters()
    {
        var uri = OtpAuthUri.Build("Acme Co & Sons", "ann smith+2fa@example.com", Secret,
            new TotpProfile(TotpAlgorithm.Sha256, 8, 60));
        Assert.That(uri, Does.StartWith("otpauth://totp/Acme%20Co%20%26%20Sons:ann%20smith%2B2fa%40example.com?"));
        Assert.That(uri, Does.Contain("&issuer=Acme%20Co%20%26%20Sons&algorithm=SHA256&digits=8&period=60"));
        var parsed = new Uri(uri);
        Assert.That(Uri.UnescapeDataString(parsed.AbsolutePath.TrimStart('/')), Is.EqualTo("Acme Co & Sons:ann smith+2fa@example.com"));
    }

    [Test]
    public void Issuer_with_a_colon_is_refused()
    {
        Assert.Throws<ArgumentException>(() => OtpAuthUri.Build("Bad:Issuer", "ann", Secret, TotpProfile.Default));
    }

    [Test]
    public void Account_name_with_a_colon_is_refused()
    {
        Assert.Throws<ArgumentException>(() => OtpAuthUri.Build("Issuer", "corp:ann", Secret, TotpProfile.Default));
    }
}
