using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuthService.Api.TwoFactor.Passkeys;

// The JSON forms of WebAuthn Level 3 (PublicKeyCredential.toJSON(), parseCreationOptionsFromJSON(),
// parseRequestOptionsFromJSON()): binary members are base64url strings without padding.

public sealed record RelyingPartyJson(string Id, string Name);

/// <summary><c>user.id</c> is a random handle (never the caller's user id), <c>name</c> and <c>displayName</c> what the
/// authenticator shows.</summary>
public sealed record UserEntityJson(string Id, string Name, string DisplayName);

public sealed record CredentialParameterJson(string Type, int Alg);

public sealed record CredentialDescriptorJson(
    string Type,
    string Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Transports);

public sealed record AuthenticatorSelectionJson(string ResidentKey, bool RequireResidentKey, string UserVerification);

/// <summary><c>PublicKeyCredentialCreationOptionsJSON</c>: pass to <c>PublicKeyCredential.parseCreationOptionsFromJSON()</c>
/// and <c>navigator.credentials.create({ publicKey })</c>.</summary>
public sealed record CreationOptionsJson(
    RelyingPartyJson Rp,
    UserEntityJson User,
    string Challenge,
    IReadOnlyList<CredentialParameterJson> PubKeyCredParams,
    long Timeout,
    IReadOnlyList<CredentialDescriptorJson> ExcludeCredentials,
    AuthenticatorSelectionJson AuthenticatorSelection,
    string Attestation);

/// <summary><c>PublicKeyCredentialRequestOptionsJSON</c>: pass to <c>PublicKeyCredential.parseRequestOptionsFromJSON()</c>
/// and <c>navigator.credentials.get({ publicKey })</c>.</summary>
public sealed record RequestOptionsJson(
    string Challenge,
    long Timeout,
    string RpId,
    IReadOnlyList<CredentialDescriptorJson> AllowCredentials,
    string UserVerification);

/// <summary><c>AuthenticatorAttestationResponseJSON</c>. Only <c>clientDataJSON</c> and <c>attestationObject</c> are
/// checked; the other members browsers add are accepted and ignored (they are derived from the attestation object).</summary>
public sealed record AttestationResponseJson(
    [property: JsonPropertyName("clientDataJSON")] string? ClientDataJSON,
    string? AttestationObject,
    IReadOnlyList<string>? Transports,
    string? AuthenticatorData,
    string? PublicKey,
    long? PublicKeyAlgorithm);

/// <summary><c>RegistrationResponseJSON</c>: what <c>credential.toJSON()</c> gives after <c>navigator.credentials.create()</c>.</summary>
public sealed record RegistrationResponseJson(
    string? Id,
    string? RawId,
    string? Type,
    AttestationResponseJson? Response,
    string? AuthenticatorAttachment,
    JsonElement? ClientExtensionResults);

/// <summary><c>AuthenticatorAssertionResponseJSON</c>.</summary>
public sealed record AssertionResponseJson([property: JsonPropertyName("clientDataJSON")] string? ClientDataJSON, string? AuthenticatorData, string? Signature, string? UserHandle);

/// <summary><c>AuthenticationResponseJSON</c>: what <c>credential.toJSON()</c> gives after <c>navigator.credentials.get()</c>.</summary>
public sealed record AuthenticationResponseJson(
    string? Id,
    string? RawId,
    string? Type,
    AssertionResponseJson? Response,
    string? AuthenticatorAttachment,
    JsonElement? ClientExtensionResults);

/// <summary>A passkey enrollment or switch started: create the credential with <c>options</c> before <c>expiresAt</c>,
/// then confirm with the <c>RegistrationResponseJSON</c>.</summary>
public sealed record PasskeyEnrollmentResponse(string Method, CreationOptionsJson Options, DateTimeOffset ExpiresAt, Guid FactorId);

/// <summary>A challenge for a passkey user: get an assertion with <c>options</c> before <c>expiresAt</c>, then send the
/// <c>AuthenticationResponseJSON</c> to <c>/verify</c> (<c>purpose</c> <c>login</c>) or as the <c>proof</c> of a change (<c>proof</c>).</summary>
public sealed record PasskeyChallengeResponse(RequestOptionsJson Options, DateTimeOffset ExpiresAt, string Purpose)
{
    /// <summary>Always <c>passkey</c>: the discriminator of <c>ChallengeStarted</c> (DESIGN §9.6).</summary>
    public string Method => Core.Factors.FactorMethods.Passkey;
}
