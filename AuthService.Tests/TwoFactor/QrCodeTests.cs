using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.TwoFactor;

public class QrCodeTests
{
    [Test]
    public async Task Png_qr_code_decodes_back_to_the_otpauth_uri()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        var (_, body) = await Flows.EnrollTotpAsync(client, AuthApp.NewUserId(), "ann.smith+2fa@example.com");

        var decoded = QrDecoder.DecodePngDataUri(body.GetProperty("qrCodePng").GetString()!);

        Assert.That(decoded, Is.EqualTo(body.GetProperty("otpauthUri").GetString()));
    }

    /// <summary>A portal may show either form: the SVG must carry the same URI as the PNG, not only be a well-formed
    /// document. It is rasterised (its rectangles painted, as a browser would) and read back like the PNG.</summary>
    [Test]
    public async Task Svg_qr_code_decodes_back_to_the_otpauth_uri()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        var (_, body) = await Flows.EnrollTotpAsync(client, AuthApp.NewUserId(), "ann.smith+2fa@example.com");

        var decoded = QrDecoder.DecodeSvg(body.GetProperty("qrCodeSvg").GetString()!);

        Assert.That(decoded, Is.EqualTo(body.GetProperty("otpauthUri").GetString()));
    }

    [Test]
    public async Task Svg_qr_code_is_a_standalone_svg_document()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        var (_, body) = await Flows.EnrollTotpAsync(client, AuthApp.NewUserId());
        var svg = body.GetProperty("qrCodeSvg").GetString()!;

        Assert.That(svg, Does.StartWith("<svg").And.EndWith("</svg>"));
        Assert.That(Regex.IsMatch(svg, "<script", RegexOptions.IgnoreCase), Is.False);
        Assert.DoesNotThrow(() => System.Xml.Linq.XDocument.Parse(svg));
    }
}
