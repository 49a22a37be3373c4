using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ZXing;
using ZXing.Common;
using ZXing.QrCode;

namespace AuthService.Tests.Infrastructure;

/// <summary>Reads a QR code back from PNG bytes or an SVG document the way a phone camera would read the screen: decode the
/// image to pixels (a small PNG reader over zlib, or a small rasteriser of the SVG's rectangles), then let ZXing find and
/// decode the symbol.</summary>
public static partial class QrDecoder
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
        return DecodeGray(gray, width, height);
    }

    /// <summary>Decodes an SVG QR code: its <c>rect</c>s and the rectangles of its <c>path</c>s (QRCoder's <c>M x y h w v h h -w z</c>
    /// runs of modules) are painted in document order, each in its fill, at <paramref name="pixelsPerUnit"/> pixels per viewBox
    /// unit. Anything else in the document (a transform, a curve, another shape) fails the read rather than being drawn wrong.</summary>
    public static string? DecodeSvg(string svg, int pixelsPerUnit = 4)
    {
        var (gray, width, height) = RasteriseSvg(svg, pixelsPerUnit);
        return DecodeGray(gray, width, height);
    }

    private static string? DecodeGray(byte[] gray, int width, int height)
    {
        var source = new RGBLuminanceSource(gray, width, height, RGBLuminanceSource.BitmapFormat.Gray8);
        var result = new QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(source)),
            new Dictionary<DecodeHintType, object> { [DecodeHintType.PURE_BARCODE] = false, [DecodeHintType.TRY_HARDER] = true });
        return result?.Text;
    }

    private static (byte[] Gray, int Width, int Height) RasteriseSvg(string svg, int pixelsPerUnit)
    {
        var root = XDocument.Parse(svg).Root!;
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.That(root.Name, Is.EqualTo(ns + "svg"));
        var viewBox = root.Attribute("viewBox")!.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Number).ToArray();
        Assert.That(viewBox, Has.Length.EqualTo(4));
        var (originX, originY) = (viewBox[0], viewBox[1]);
        var (width, height) = ((int)Math.Ceiling(viewBox[2] * pixelsPerUnit), (int)Math.Ceiling(viewBox[3] * pixelsPerUnit));
        var gray = new byte[width * height];
        Array.Fill(gray, (byte)255); // an SVG's canvas is transparent: on a page, white

        void Fill(double x, double y, double w, double h, byte shade)
        {
            var (left, top) = ((int)Math.Round((x - originX) * pixelsPerUnit), (int)Math.Round((y - originY) * pixelsPerUnit));
            var (right, bottom) = ((int)Math.Round((x + w - originX) * pixelsPerUnit), (int)Math.Round((y + h - originY) * pixelsPerUnit));
            for (var row = Math.Max(0, top); row < Math.Min(height, bottom); row++)
            {
                for (var column = Math.Max(0, left); column < Math.Min(width, right); column++)
                {
                    gray[row * width + column] = shade;
                }
            }
        }

        foreach (var element in root.Elements())
        {
            Assert.That(element.Attribute("transform"), Is.Null, "a transformed shape");
            var shade = Shade(element.Attribute("fill")?.Value ?? "#000");
            if (element.Name == ns + "rect")
            {
                Fill(Number(element.Attribute("x")?.Value ?? "0"), Number(element.Attribute("y")?.Value ?? "0"),
                    Number(element.Attribute("width")!.Value), Number(element.Attribute("height")!.Value), shade);
            }
            else if (element.Name == ns + "path")
            {
                foreach (var (x, y, w, h) in PathRectangles(element.Attribute("d")!.Value))
                {
                    Fill(x, y, w, h, shade);
                }
            }
            else
            {
                Assert.Fail($"an SVG element this rasteriser does not draw: {element.Name.LocalName}");
            }
        }

        return (gray, width, height);
    }

    /// <summary>The axis-aligned rectangles a path's closed subpaths outline (absolute or relative M, H, V, L and Z); a subpath
    /// that is not a rectangle fails the read.</summary>
    private static IEnumerable<(double X, double Y, double Width, double Height)> PathRectangles(string d)
    {
        var tokens = PathToken().Matches(d).Select(m => m.Value).ToList();
        var (x, y) = (0.0, 0.0);
        var corners = new List<(double X, double Y)>();
        var command = ' ';
        for (var i = 0; i < tokens.Count;)
        {
            if (char.IsLetter(tokens[i][0]))
            {
                command = tokens[i++][0];
                if (command is 'z' or 'Z')
                {
                    yield return Rectangle(corners);
                    (x, y) = corners[0];
                    corners = [];
                    continue;
                }
            }

            var relative = char.IsLower(command);
            switch (char.ToUpperInvariant(command))
            {
                case 'M':
                    Assert.That(corners, Is.Empty, "an open subpath");
                    (x, y) = (Number(tokens[i]) + (relative ? x : 0), Number(tokens[i + 1]) + (relative ? y : 0));
                    i += 2;
                    command = relative ? 'l' : 'L'; // further pairs after a moveto are linetos
                    corners.Add((x, y));
                    continue;
                case 'L':
                    (x, y) = (Number(tokens[i]) + (relative ? x : 0), Number(tokens[i + 1]) + (relative ? y : 0));
                    i += 2;
                    break;
                case 'H':
                    x = Number(tokens[i++]) + (relative ? x : 0);
                    break;
                case 'V':
                    y = Number(tokens[i++]) + (relative ? y : 0);
                    break;
                default:
                    Assert.Fail($"a path command this rasteriser does not draw: {command}");
                    break;
            }

            corners.Add((x, y));
        }

        Assert.That(corners, Is.Empty, "a subpath left open");
    }

    private static (double X, double Y, double Width, double Height) Rectangle(List<(double X, double Y)> corners)
    {
        var (left, right) = (corners.Min(c => c.X), corners.Max(c => c.X));
        var (top, bottom) = (corners.Min(c => c.Y), corners.Max(c => c.Y));
        Assert.That(corners.All(c => (c.X == left || c.X == right) && (c.Y == top || c.Y == bottom)), Is.True,
            $"a subpath that is not an axis-aligned rectangle: {string.Join(' ', corners)}");
        return (left, top, right - left, bottom - top);
    }

    /// <summary>The gray level of a fill: #rgb, #rrggbb, black, white or none (transparent: nothing painted is shown as white).</summary>
    private static byte Shade(string fill)
    {
        var hex = fill.ToLowerInvariant() switch
        {
            "black" => "000000",
            "white" or "none" => "ffffff",
            ['#', _, _, _] => string.Concat(fill[1..].Select(c => new string(c, 2))),
            ['#', _, _, _, _, _, _] => fill[1..],
            _ => throw new AssertionException($"a fill this rasteriser does not know: {fill}"),
        };
        var (r, g, b) = (Convert.ToInt32(hex[..2], 16), Convert.ToInt32(hex[2..4], 16), Convert.ToInt32(hex[4..], 16));
        return (byte)((299 * r + 587 * g + 114 * b) / 1000);
    }

    private static double Number(string value) => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")]
    private static partial Regex PathToken();

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
