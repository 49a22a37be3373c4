using System.Buffers.Binary;
using System.IO.Compression;
using ZXing;
using ZXing.Common;
using ZXing.QrCode;

namespace AuthService.Tests.Infrastructure;

/// <summary>Reads a QR code back from PNG bytes the way a phone camera would read the screen: decode the
/// image to pixels (a small PNG reader over zlib), then let ZXing find and decode the symbol.</summary>
public static class QrDecoder
{
    public static string? DecodePngDataUri(string dataUri)
    {
        const string prefix = "data:image/png;base64,";
        Assert.That(dataUri, Does.StartWith(prefix));
        return DecodePng(Convert.FromBase64String(dataUri[prefix.Length..]));
    }

    public static string? DecodePng(byte[] png)
    {
        var (gray, width, height) = ReadGray(png);
        var source = new RGBLuminanceSource(gray, width, height, RGBLuminanceSource.BitmapFormat.Gray8);
        var result = new QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(source)),
            new Dictionary<DecodeHintType, object> { [DecodeHintType.PURE_BARCODE] = false, [DecodeHintType.TRY_HARDER] = true });
        return result?.Text;
    }

    private static (byte[] Gray, int Width, int Height) ReadGray(byte[] png)
    {
        Assert.That(png.AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }), "PNG signature");
        int width = 0, height = 0, bitDepth = 0, colorType = 0;
        byte[] palette = [];
        using var idat = new MemoryStream();
        for (var offset = 8; offset < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = System.Text.Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length);
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    bitDepth = data[8];
                    colorType = data[9];
                    Assert.That(data[12], Is.Zero, "interlaced PNGs are not supported by this reader");
                    break;
                case "PLTE":
                    palette = data.ToArray();
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
            }

            offset += 12 + length;
        }

        var channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => throw new NotSupportedException() };
        var bitsPerPixel = channels * bitDepth;
        var stride = (width * bitsPerPixel + 7) / 8;
        var bpp = Math.Max(1, bitsPerPixel / 8);
        idat.Position = 0;
        using var inflater = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new byte[height * (stride + 1)];
        inflater.ReadExactly(raw);

        var previous = new byte[stride];
        var gray = new byte[width * height];
        for (var y = 0; y < height; y++)
        {
            var filter = raw[y * (stride + 1)];
            var line = raw.AsSpan(y * (stride + 1) + 1, stride);
            for (var i = 0; i < stride; i++)
            {
                int a = i >= bpp ? line[i - bpp] : 0, b = previous[i], c = i >= bpp ? previous[i - bpp] : 0;
                line[i] = (byte)(line[i] + filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new NotSupportedException($"PNG filter {filter}"),
                });
            }

            for (var x = 0; x < width; x++)
            {
                gray[y * width + x] = Pixel(line, x, bitDepth, colorType, palette);
            }

            line.CopyTo(previous);
        }

        return (gray, width, height);
    }

    private static byte Pixel(ReadOnlySpan<byte> line, int x, int bitDepth, int colorType, byte[] palette)
    {
        switch (colorType)
        {
            case 0 or 3 when bitDepth < 8:
            {
                var perByte = 8 / bitDepth;
                var value = (line[x / perByte] >> ((perByte - 1 - x % perByte) * bitDepth)) & ((1 << bitDepth) - 1);
                return colorType == 3 ? palette[value * 3 + 1] : (byte)(value * 255 / ((1 << bitDepth) - 1));
            }
            case 0:
                return line[x];
            case 3:
                return palette[line[x] * 3 + 1];
            case 2:
                return line[x * 3 + 1];
            case 6:
                return line[x * 4 + 1];
            default:
                return line[x * 2];
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
