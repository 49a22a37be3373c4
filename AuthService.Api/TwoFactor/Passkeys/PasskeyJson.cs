using System.Buffers.Text;
using AuthService.Api.Http;
using Fido2NetLib;
using Fido2NetLib.Objects;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>From the WebAuthn JSON forms to the library's raw responses. A response that is not even shaped like one
/// is a caller bug (400 <c>validation_failed</c>), checked before anything is spent; everything inside the binary
/// members is judged by the ceremony and counts as an attempt.</summary>
public static class PasskeyJson
{
    private const int MaxMember = 16 * 1024;

    private static readonly Dictionary<string, AuthenticatorTransport> KnownTransports = new(StringComparer.Ordinal)
    {
        ["usb"] = AuthenticatorTransport.Usb,
        ["nfc"] = AuthenticatorTransport.Nfc,
        ["ble"] = AuthenticatorTransport.Ble,
        ["smart-card"] = AuthenticatorTransport.SmartCard,
        ["hybrid"] = AuthenticatorTransport.Hybrid,
        ["internal"] = AuthenticatorTransport.Internal,
    };

    public static Result<AuthenticatorAttestationRawResponse> Registration(RegistrationResponseJson? json)
    {
        if (json?.Response is null)
        {
            return PasskeyProblems.Shape("credential must be a RegistrationResponseJSON (id, rawId, type, response).");
        }

        if (Common(json.Id, json.RawId, json.Type) is { Error: { } error })
        {
            return error;
        }

        var rawId = Base64Url.DecodeFromChars(json.RawId);
        var clientData = Decode(json.Response.ClientDataJSON);
        var attestation = Decode(json.Response.AttestationObject);
        if (clientData is null || attestation is null)
        {
            return PasskeyProblems.Shape("response.clientDataJSON and response.attestationObject must be base64url.");
        }

        return new AuthenticatorAttestationRawResponse
        {
            Id = json.Id!,
            RawId = rawId,
            Type = PublicKeyCredentialType.PublicKey,
            Response = new AuthenticatorAttestationRawResponse.AttestationResponse
            {
                AttestationObject = attestation,
                ClientDataJson = clientData,
                Transports = Transports(KnownOnly(json.Response.Transports)) ?? [],
            },
            ClientExtensionResults = new AuthenticationExtensionsClientOutputs(),
        };
    }

    public static Result<AuthenticatorAssertionRawResponse> Authentication(AuthenticationResponseJson? json)
    {
        if (json?.Response is null)
        {
            return PasskeyProblems.Shape("credential must be an AuthenticationResponseJSON (id, rawId, type, response).");
        }

        if (Common(json.Id, json.RawId, json.Type) is { Error: { } error })
        {
            return error;
        }

        var clientData = Decode(json.Response.ClientDataJSON);
        var authenticatorData = Decode(json.Response.AuthenticatorData);
        var signature = Decode(json.Response.Signature);
        var userHandle = json.Response.UserHandle is null ? null : Decode(json.Response.UserHandle);
        if (clientData is null || authenticatorData is null || signature is null || (json.Response.UserHandle is not null && userHandle is null))
        {
            return PasskeyProblems.Shape("response.clientDataJSON, authenticatorData, signature (and userHandle if sent) must be base64url.");
        }

        return new AuthenticatorAssertionRawResponse
        {
            Id = json.Id!,
            RawId = Base64Url.DecodeFromChars(json.RawId),
            Type = PublicKeyCredentialType.PublicKey,
            Response = new AuthenticatorAssertionRawResponse.AssertionResponse
            {
                AuthenticatorData = authenticatorData,
                Signature = signature,
                ClientDataJson = clientData,
                UserHandle = userHandle is { Length: > 0 } ? userHandle : null,
            },
            ClientExtensionResults = new AuthenticationExtensionsClientOutputs(),
        };
    }

    /// <summary>The library's transports for the stored names; names it does not know are left out.</summary>
    public static AuthenticatorTransport[]? Transports(IEnumerable<string>? names) =>
        names?.Where(KnownTransports.ContainsKey).Select(n => KnownTransports[n]).ToArray() is { Length: > 0 } known ? known : null;

    /// <summary>The transports worth storing: known names only, each once.</summary>
    public static string[] KnownOnly(IEnumerable<string>? names) =>
        names?.Where(n => n is not null && KnownTransports.ContainsKey(n)).Distinct().ToArray() ?? [];

    private static Result<bool> Common(string? id, string? rawId, string? type)
    {
        if (type != "public-key")
        {
            return PasskeyProblems.Shape("credential.type must be 'public-key'.");
        }

        if (id is null || rawId is null || id.Length > 1400 || !Base64Url.IsValid(rawId) || Decode(rawId) is not { Length: > 0 } raw ||
            Base64Url.EncodeToString(raw) != id)
        {
            return PasskeyProblems.Shape("credential.id and rawId must be the same non-empty base64url credential id.");
        }

        return true;
    }

    private static byte[]? Decode(string? value) =>
        value is null || value.Length > MaxMember || !Base64Url.IsValid(value) ? null : Base64Url.DecodeFromChars(value);
}
