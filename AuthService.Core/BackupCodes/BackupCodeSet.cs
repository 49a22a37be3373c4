using System.Security.Cryptography;
using System.Text;
using AuthService.Core.Text;

namespace AuthService.Core.BackupCodes;

/// <summary>A backup code as stored: a random salt, PBKDF2-HMAC-SHA256(normalized code, salt) and the iteration count it
/// was hashed with (so the cost can be raised without invalidating codes already handed out). The code itself is never kept.</summary>
public sealed record BackupCodeHash(byte[] Salt, byte[] Hash, int Iterations = BackupCodeSet.Pbkdf2Iterations);

/// <summary>Single-use recovery codes: 10 characters from an alphabet without look-alikes
/// (no 0/o, 1/i/l), shown as <c>xxxxx-xxxxx</c> (≈49.5 bits each, NIST SP 800-63B §5.1.2.1 look-up secrets).</summary>
public static class BackupCodeSet
{
    public const string Alphabet = "23456789abcdefghjkmnpqrstuvwxyz";
    public const int CodeLength = 10;
    public const int DefaultCount = 10;
    private const int SaltBytes = 16;

    /// <summary>A deliberately slow hash (ASVS 5.0 6.5.2; NIST SP 800-63B §5.1.2.2 asks for a key derivation function as in
    /// §5.1.1.2, "typically at least 10,000 iterations"): 20,000 rounds, 5–16 ms per code on the 2-core reference machine,
    /// so a backup-code verify (≤ 10 candidates) costs ~0.05–0.16 s of CPU and a stolen table ~2^49.5 × 20,000 HMAC
    /// rounds per code. docs/SECURITY.md has the measurement and the reasoning.</summary>
    public const int Pbkdf2Iterations = 20_000;

    /// <summary>Fresh codes from the CSPRNG, formatted for display.</summary>
    public static IReadOnlyList<string> Generate(int count = DefaultCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var codes = new string[count];
        for (var i = 0; i < count; i++)
        {
            var raw = RandomNumberGenerator.GetString(Alphabet, CodeLength);
            codes[i] = $"{raw[..5]}-{raw[5..]}";
        }

        return codes;
    }

    /// <summary>Accepts any case, with or without the hyphen and spaces. False when what remains cannot be a code.</summary>
    public static bool TryNormalize(string? input, out string normalized)
    {
        normalized = string.Empty;
        if (input is null || input.Length > PrintableText.MaxLength)
        {
            return false;
        }

        Span<char> buffer = stackalloc char[CodeLength];
        var length = 0;
        foreach (var c in input)
        {
            if (c is '-' or ' ')
            {
                continue;
            }

            var lower = char.ToLowerInvariant(c);
            if (length == CodeLength || !Alphabet.Contains(lower))
            {
                return false;
            }

            buffer[length++] = lower;
        }

        if (length != CodeLength)
        {
            return false;
        }

        normalized = new string(buffer);
        return true;
    }

    public static BackupCodeHash Hash(string code)
    {
        if (!TryNormalize(code, out var normalized))
        {
            throw new ArgumentException("Not a backup code.", nameof(code));
        }

        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return new BackupCodeHash(salt, HashWithSalt(salt, normalized, Pbkdf2Iterations), Pbkdf2Iterations);
    }

    /// <summary>Index of the stored code that <paramref name="input"/> matches, or −1. Every candidate is
    /// hashed and compared in constant time so timing does not reveal which code matched. It does reveal how many unused codes
    /// exist (one slow hash each), which the API tells the caller anyway (<c>backupCodesRemaining</c>).</summary>
    public static int FindMatch(string? input, IReadOnlyList<BackupCodeHash> candidates)
    {
        if (!TryNormalize(input, out var normalized))
        {
            return -1;
        }

        var match = -1;
        for (var i = 0; i < candidates.Count; i++)
        {
            var hash = HashWithSalt(candidates[i].Salt, normalized, candidates[i].Iterations);
            if (CryptographicOperations.FixedTimeEquals(hash, candidates[i].Hash) && match < 0)
            {
                match = i;
            }
        }

        return match;
    }

    private static byte[] HashWithSalt(byte[] salt, string normalized, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.ASCII.GetBytes(normalized), salt, iterations, HashAlgorithmName.SHA256, 32);
}
