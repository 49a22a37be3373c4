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

    /// <summary>The longest key <see cref="Hash(ReadOnlySpan{char}, Span{byte})"/> takes (a bearer header is cut at 512).</summary>
    public const int MaxHashedLength = 512;

    /// <summary><see cref="Hash(string)"/> into <paramref name="hash"/> (32 bytes), without allocating: the per-request
    /// lookup of a cached key.</summary>
    public static void Hash(ReadOnlySpan<char> key, Span<byte> hash)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(key.Length, MaxHashedLength, nameof(key));
        Span<byte> utf8 = stackalloc byte[MaxHashedLength * 3];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        SHA256.HashData(utf8[..length], hash);
    }

    /// <summary>What listings show for the bootstrap admin key instead of its first characters: its value is the operator's,
    /// checked only for length, so a part of it shown (and stored in clear) could be a large part of its strength.</summary>
    public const string BootstrapDisplayPrefix = "bootstrap";

    /// <summary>The first characters of a generated key (<see cref="Prefix"/> and 8 of its 43 random ones), safe to show in
    /// listings so people can tell keys apart.</summary>
    public static string DisplayPrefix(string key) => key.Length <= 12 ? key : key[..12];

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
