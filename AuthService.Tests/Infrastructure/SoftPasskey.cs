using System.Buffers.Text;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AuthService.Tests.Infrastructure;

/// <summary>A software WebAuthn authenticator: a P-256 key, attestation <c>none</c>, CBOR written by hand with
/// System.Formats.Cbor, and the JSON a browser's <c>credential.toJSON()</c> gives. Every part a test may want to get
/// wrong (origin, RP ID, counter, signature) can be chosen per call.</summary>
public sealed class SoftPasskey : IDisposable
{
    public static readonly Guid Aaguid = Guid.Parse("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6");

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private byte[] _userHandle = [];

    public SoftPasskey(string origin, string rpId)
    {
        Origin = origin;
        RpId = rpId;
    }

    public string Origin { get; }

    public string RpId { get; }

    public byte[] CredentialId { get; } = RandomNumberGenerator.GetBytes(16);

    public string Id => Base64Url.EncodeToString(CredentialId);

    /// <summary>The counter the next assertion carries (incremented before signing, like a real authenticator).</summary>
    public uint SignCount { get; set; }

    /// <summary>A <c>RegistrationResponseJSON</c> answering <paramref name="options"/> (PublicKeyCredentialCreationOptionsJSON), with
    /// attestation <c>none</c>, or <c>packed</c> with <paramref name="packedCertificate"/> as its <c>x5c</c> and a signature no one
    /// checks before the certificate is read.</summary>
    public object Register(JsonElement options, string? origin = null, string? rpId = null, byte[]? packedCertificate = null)
    {
        _userHandle = Base64Url.DecodeFromChars(options.GetProperty("user").GetProperty("id").GetString());
        var clientData = ClientData("webauthn.create", options.GetProperty("challenge").GetString()!, origin ?? Origin);
        var authData = AuthenticatorData(rpId ?? RpId, flags: 0x45, SignCount, attested: true); // UP | UV | AT
        var attestation = new CborWriter(CborConformanceMode.Lax);
        attestation.WriteStartMap(3);
        attestation.WriteTextString("fmt");
        attestation.WriteTextString(packedCertificate is null ? "none" : "packed");
        attestation.WriteTextString("attStmt");
        if (packedCertificate is null)
        {
            attestation.WriteStartMap(0);
        }
        else
        {
            attestation.WriteStartMap(3);
            attestation.WriteTextString("alg");
            attestation.WriteInt32(-7);
            attestation.WriteTextString("sig");
            attestation.WriteByteString(new byte[70]);
            attestation.WriteTextString("x5c");
            attestation.WriteStartArray(1);
            attestation.WriteByteString(packedCertificate);
            attestation.WriteEndArray();
        }

        attestation.WriteEndMap();
        attestation.WriteTextString("authData");
        attestation.WriteByteString(authData);
        attestation.WriteEndMap();
        return new
        {
            id = Id,
            rawId = Id,
            type = "public-key",
            response = new
            {
                clientDataJSON = Base64Url.EncodeToString(clientData),
                attestationObject = Base64Url.EncodeToString(attestation.Encode()),
                transports = new[] { "internal" },
            },
            authenticatorAttachment = "platform",
            clientExtensionResults = new { },
        };
    }

    /// <summary>An <c>AuthenticationResponseJSON</c> answering <paramref name="options"/> (PublicKeyCredentialRequestOptionsJSON).</summary>
    public object Assert(JsonElement options, string? origin = null, string? rpId = null, bool breakSignature = false)
    {
        SignCount++;
        var clientData = ClientData("webauthn.get", options.GetProperty("challenge").GetString()!, origin ?? Origin);
        var authData = AuthenticatorData(rpId ?? RpId, flags: 0x05, SignCount, attested: false); // UP | UV
        var signature = _key.SignData([.. authData, .. SHA256.HashData(clientData)], HashAlgorithmName.SHA256,
            DSASignatureFormat.Rfc3279DerSequence);
        if (breakSignature)
        {
            signature[^1] ^= 0x01;
        }

        return new
        {
            id = Id,
            rawId = Id,
            type = "public-key",
            response = new
            {
                clientDataJSON = Base64Url.EncodeToString(clientData),
                authenticatorData = Base64Url.EncodeToString(authData),
                signature = Base64Url.EncodeToString(signature),
                userHandle = Base64Url.EncodeToString(_userHandle),
            },
            authenticatorAttachment = "platform",
            clientExtensionResults = new { },
        };
    }

    /// <summary>The COSE_Key of the public key, as the service stores it (<c>passkey_credentials.public_key</c>).</summary>
    public byte[] PublicKeyCose => CoseKey();

    /// <summary>Answers as registered for <paramref name="userHandle"/>, for a credential written straight into a database
    /// (the upgrade test's snapshot) rather than through <see cref="Register"/>.</summary>
    public void RegisteredAs(byte[] userHandle) => _userHandle = userHandle;

    /// <summary>Lets another software authenticator sign as this one's user (an unregistered key, same user handle).</summary>
    public void ActFor(SoftPasskey registered) => _userHandle = registered._userHandle;

    private static byte[] ClientData(string type, string challenge, string origin) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { type, challenge, origin, crossOrigin = false }));

    private byte[] AuthenticatorData(string rpId, byte flags, uint signCount, bool attested)
    {
        var data = new List<byte>();
        data.AddRange(SHA256.HashData(Encoding.UTF8.GetBytes(rpId)));
        data.Add(flags);
        data.AddRange(BigEndian(signCount));
        if (attested)
        {
            data.AddRange(Aaguid.ToByteArray(bigEndian: true));
            data.Add((byte)(CredentialId.Length >> 8));
            data.Add((byte)CredentialId.Length);
            data.AddRange(CredentialId);
            data.AddRange(CoseKey());
        }

        return [.. data];
    }

    /// <summary>The COSE_Key of the public key (RFC 9053: kty EC2, alg ES256, crv P-256, x, y), keys in CTAP2 order.</summary>
    private byte[] CoseKey()
    {
        var point = _key.ExportParameters(false).Q;
        var cose = new CborWriter(CborConformanceMode.Ctap2Canonical);
        cose.WriteStartMap(5);
        cose.WriteInt32(1);
        cose.WriteInt32(2);
        cose.WriteInt32(3);
        cose.WriteInt32(-7);
        cose.WriteInt32(-1);
        cose.WriteInt32(1);
        cose.WriteInt32(-2);
        cose.WriteByteString(point.X!);
        cose.WriteInt32(-3);
        cose.WriteByteString(point.Y!);
        cose.WriteEndMap();
        return cose.Encode();
    }

    private static byte[] BigEndian(uint value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    public void Dispose() => _key.Dispose();
}
