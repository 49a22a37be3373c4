using System.Security.Cryptography;
using AuthService.Core.Security;

namespace AuthService.Api.Configuration;

/// <summary>Builds the <see cref="SecretBox"/> from <c>Encryption:*</c>, with messages an operator can act on.</summary>
public static class KeyRingFactory
{
    public static SecretBox Create(EncryptionOptions options)
    {
        if (options.Keys.Count == 0 || string.IsNullOrWhiteSpace(options.ActiveKeyId))
        {
            throw new StartupException(
                "Encryption key missing: set Encryption__ActiveKeyId and Encryption__Keys__<id> (32 random bytes, base64; e.g. `openssl rand -base64 32`).");
        }

        var keys = new Dictionary<string, byte[]>();
        foreach (var (id, value) in options.Keys)
        {
            byte[] key;
            try
            {
                key = Convert.FromBase64String(value);
            }
            catch (FormatException)
            {
                throw new StartupException($"Encryption key '{id}' is not valid base64.");
            }

            if (key.Length != 32)
            {
                throw new StartupException($"Encryption key '{id}' is {key.Length} bytes; AES-256 needs exactly 32.");
            }

            keys[id] = key;
        }

        if (!keys.ContainsKey(options.ActiveKeyId))
        {
            throw new StartupException($"Encryption:ActiveKeyId '{options.ActiveKeyId}' names no key in Encryption:Keys.");
        }

        return new SecretBox(keys, options.ActiveKeyId);
    }

    /// <summary>A random in-memory key for Development runs without configuration: nothing sealed with it
    /// survives a restart, which is why Production refuses to start without a configured key.</summary>
    public static EncryptionOptions Ephemeral() => new()
    {
        ActiveKeyId = "ephemeral",
        Keys = { ["ephemeral"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) },
    };
}
