using System.Security.Cryptography;
using System.Text;

namespace AuthService.Core.Security;

/// <summary>AES-256-GCM under a key ring. Each sealed value carries the id of the key that sealed it, so
/// rotation is "add a key, make it active": old values still open until <c>rotate-keys</c> re-seals them.
/// Layout: version(1) | keyIdLength(1) | keyId | nonce(12) | tag(16) | ciphertext.
/// The associated data binds a value to its owner and purpose (<see cref="SealContexts"/>: a TOTP seed or a number to its user,
/// a webhook secret to its endpoint), so a ciphertext copied to another owner's row fails to open; between two rows of one
/// user it opens (a confirmation copies a pending row's seal into the factor). Nonces are random, 96 bits: NIST SP 800-38D
/// §8.3 allows 2^32 seals per key, and seals happen only at enrollment, registration and <c>rotate-keys</c>.</summary>
public sealed class SecretBox
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    /// <summary>Associated data up to this many UTF-8 bytes is encoded on the stack.</summary>
    private const int StackAssociatedData = 256;
    /// <summary>A thread forgets its ciphers when it has this many (only tests build so many key rings).</summary>
    private const int MaxCiphersPerThread = 16;

    /// <summary>Each thread's <see cref="AesGcm"/> per key (by reference: the ring's own copies, never written). Building
    /// one sets up an OpenSSL cipher context and expands the key, which cost every seal and open as much again as the
    /// cipher itself (issue 27). An <see cref="AesGcm"/> is not thread-safe; <see cref="Seal(ReadOnlySpan{byte}, string)"/>
    /// and <see cref="Open"/> never await, so one per thread is never shared.</summary>
    [ThreadStatic] private static Dictionary<byte[], AesGcm>? t_ciphers;

    private readonly Dictionary<string, byte[]> _keys;

    public SecretBox(IReadOnlyDictionary<string, byte[]> keys, string activeKeyId)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            throw new ArgumentException("The key ring is empty.", nameof(keys));
        }

        foreach (var (id, key) in keys)
        {
            if (string.IsNullOrEmpty(id) || Encoding.UTF8.GetByteCount(id) > 64)
            {
                throw new ArgumentException($"Key id '{id}' must be 1–64 bytes.", nameof(keys));
            }

            if (key.Length != 32)
            {
                throw new ArgumentException($"Key '{id}' is {key.Length} bytes; AES-256 needs 32.", nameof(keys));
            }
        }

        if (!keys.ContainsKey(activeKeyId))
        {
            throw new ArgumentException($"The active key '{activeKeyId}' is not in the key ring.", nameof(activeKeyId));
        }

        // The ring's own copies: a cached cipher is found by its key array, so nobody else may write to one.
        _keys = keys.ToDictionary(k => k.Key, k => k.Value.ToArray());
        ActiveKeyId = activeKeyId;
    }

    public string ActiveKeyId { get; }

    /// <summary>Whether <paramref name="keyId"/> is in the ring (a MAC made under it cannot be checked without it).</summary>
    public bool HasKey(string keyId) => _keys.ContainsKey(keyId);

    public byte[] Seal(ReadOnlySpan<byte> plaintext, string associatedData)
    {
        var keyId = Encoding.UTF8.GetBytes(ActiveKeyId);
        var headerLength = 2 + keyId.Length;
        var blob = new byte[headerLength + NonceSize + TagSize + plaintext.Length];
        blob[0] = Version;
        blob[1] = (byte)keyId.Length;
        keyId.CopyTo(blob, 2);
        var nonce = blob.AsSpan(headerLength, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        Span<byte> buffer = stackalloc byte[StackAssociatedData];
        CipherFor(_keys[ActiveKeyId]).Encrypt(nonce, plaintext, blob.AsSpan(headerLength + NonceSize + TagSize),
            blob.AsSpan(headerLength + NonceSize, TagSize), Utf8(associatedData, buffer));
        return blob;
    }

    public byte[] Seal(string plaintext, string associatedData) => Seal(Encoding.UTF8.GetBytes(plaintext), associatedData);

    /// <summary>Opens a sealed value. Throws <see cref="CryptographicException"/> when the value was tampered
    /// with, belongs to other associated data, or its key is not in the ring.</summary>
    public byte[] Open(byte[] blob, string associatedData)
    {
        var keyId = KeyIdOf(blob);
        if (!_keys.TryGetValue(keyId, out var key))
        {
            throw new CryptographicException($"The value was sealed with key '{keyId}', which is not in the key ring.");
        }

        var headerLength = 2 + blob[1];
        var cipherLength = blob.Length - headerLength - NonceSize - TagSize;
        if (cipherLength < 0)
        {
            throw new CryptographicException("The sealed value is truncated.");
        }

        var plaintext = new byte[cipherLength];
        Span<byte> buffer = stackalloc byte[StackAssociatedData];
        CipherFor(key).Decrypt(blob.AsSpan(headerLength, NonceSize), blob.AsSpan(headerLength + NonceSize + TagSize),
            blob.AsSpan(headerLength + NonceSize, TagSize), plaintext, Utf8(associatedData, buffer));
        return plaintext;
    }

    private static AesGcm CipherFor(byte[] key)
    {
        var ciphers = t_ciphers ??= new Dictionary<byte[], AesGcm>(ReferenceEqualityComparer.Instance);
        if (!ciphers.TryGetValue(key, out var cipher))
        {
            if (ciphers.Count >= MaxCiphersPerThread)
            {
                foreach (var old in ciphers.Values)
                {
                    old.Dispose();
                }

                ciphers.Clear();
            }

            ciphers[key] = cipher = new AesGcm(key, TagSize);
        }

        return cipher;
    }

    private static ReadOnlySpan<byte> Utf8(string text, Span<byte> buffer) =>
        Encoding.UTF8.TryGetBytes(text, buffer, out var written) ? buffer[..written] : Encoding.UTF8.GetBytes(text);

    public string OpenString(byte[] blob, string associatedData) => Encoding.UTF8.GetString(Open(blob, associatedData));

    public static string KeyIdOf(byte[] blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (blob.Length < 2 || blob[0] != Version || blob.Length < 2 + blob[1])
        {
            throw new CryptographicException("Not a sealed value of a known version.");
        }

        return Encoding.UTF8.GetString(blob, 2, blob[1]);
    }

    /// <summary>HMAC-SHA256 under a subkey of <paramref name="keyId"/> derived for <paramref name="purpose"/> (HKDF).
    /// For values that must be compared but never recovered (phone codes) or looked up (phone numbers).</summary>
    public byte[] Mac(string keyId, string purpose, ReadOnlySpan<byte> data)
    {
        if (!_keys.TryGetValue(keyId, out var key))
        {
            throw new CryptographicException($"Key '{keyId}' is not in the key ring.");
        }

        var subkey = HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, salt: [], info: Encoding.UTF8.GetBytes("authservice/" + purpose));
        return HMACSHA256.HashData(subkey, data);
    }

    public byte[] Mac(string keyId, string purpose, string data) => Mac(keyId, purpose, Encoding.UTF8.GetBytes(data));
}
