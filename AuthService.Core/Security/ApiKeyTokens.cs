using System.Security.Cryptography;
using System.Text;

namespace AuthService.Core.Security;

/// <summary>Caller API keys: 256 random bits, shown once, stored only as SHA-256. A fast hash is enough
/// here because the input has full entropy; nothing can be guessed from the hash.</summary>
public static class ApiKeyTokens
{
    public const string Prefix = "ask_";

    public static string Generate() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>The first characters of a key, safe to show in listings so people can tell keys apart.</summary>
    public static string DisplayPrefix(string key) => key.Length <= 12 ? key : key[..12];

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
