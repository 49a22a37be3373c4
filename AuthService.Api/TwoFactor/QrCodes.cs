using QRCoder;

namespace AuthService.Api.TwoFactor;

/// <summary>The otpauth URI as a QR code, in both forms a portal can drop into a page.</summary>
public static class QrCodes
{
    public static (string Svg, string PngDataUri) Render(string otpauthUri)
    {
        using var data = QRCodeGenerator.GenerateQrCode(otpauthUri, QRCodeGenerator.ECCLevel.M);
        var svg = new SvgQRCode(data).GetGraphic(4);
        var png = new PngByteQRCode(data).GetGraphic(5);
        return (svg, "data:image/png;base64," + Convert.ToBase64String(png));
    }
}
