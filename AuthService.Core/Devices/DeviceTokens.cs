using System.Security.Cryptography;
using System.Text;

namespace AuthService.Core.Devices;

/// <summary>Remembered-device tokens (DESIGN §9.3): 256 bits from the CSPRNG, shown once, stored only as their SHA-256. A fast,
/// unkeyed hash is enough because the input has full entropy (as for API keys): nothing can be guessed from the hash.
/// A token is AAL1 only (NIST SP 800-63B-4): it may skip a login's second step, never prove a change.</summary>
public static class DeviceTokens
{
    public const string Prefix = "dvt_";

    /// <summary>A new token and the hash that is stored in its place.</summary>
    public static (string Token, byte[] Hash) Create()
    {
        var token = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (token, Hash(token));
    }

    /// <summary>The stored form of any presented string, well-formed or not: every presented token costs the same hash.</summary>
    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>The label a remembered device carries when the portal gave none.</summary>
    public const string DefaultLabel = "Remembered browser";
}
