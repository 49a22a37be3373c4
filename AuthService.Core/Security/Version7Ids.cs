using System.Security.Cryptography;

namespace AuthService.Core.Security;

/// <summary>RFC 9562 version 7 UUIDs (48-bit Unix milliseconds, then 74 random bits), the layout of
/// <see cref="Guid.CreateVersion7(DateTimeOffset)"/>. The random bits come from <see cref="RandomNumberGenerator"/>
/// (OpenSSL's generator, in process): the runtime's own <c>CreateVersion7</c> reads <c>/dev/urandom</c> with a system call
/// for every id on Linux, and a login from a new device makes two (its webhook events; issue 27).</summary>
public static class Version7Ids
{
    public static Guid New(DateTimeOffset timestamp)
    {
        var milliseconds = timestamp.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds, nameof(timestamp));
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes[6..]);
        for (var i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(milliseconds >> (8 * (5 - i)));
        }

        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F)); // version 7
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F)); // variant 10
        return new Guid(bytes, bigEndian: true);
    }
}
