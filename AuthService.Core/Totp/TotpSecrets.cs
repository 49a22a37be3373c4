using System.Security.Cryptography;
using OtpNet;

namespace AuthService.Core.Totp;

public static class TotpSecrets
{
    /// <summary>160 bits, the HMAC-SHA1 block-size recommendation of RFC 4226 §4 (R6).</summary>
    public const int DefaultLengthBytes = 20;

    /// <summary>A fresh secret from the operating system's CSPRNG.</summary>
    public static byte[] Generate(int lengthBytes = DefaultLengthBytes)
    {
        if (lengthBytes is < 16 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(lengthBytes));
        }

        return RandomNumberGenerator.GetBytes(lengthBytes);
    }

    /// <summary>RFC 4648 base32 without padding, as authenticator apps expect it.</summary>
    public static string ToBase32(byte[] secret) => Base32Encoding.ToString(secret).TrimEnd('=');
}
