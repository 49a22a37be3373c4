using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using AuthService.Api.Http;
using Fido2NetLib;
using Fido2NetLib.Objects;
using Microsoft.Extensions.Options;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>Why a credential or assertion was refused: the audit reason and the answer.</summary>
public sealed record Refusal(string Reason, Problem Problem);

/// <summary>New options and the verdicts on responses, through the Fido2 library. No I/O: the caller takes the
/// challenge and the stored credential under the user's lock and records the outcome.</summary>
public sealed class PasskeyCeremonies(IFido2 fido2, IOptions<PasskeyOptions> options)
{
    private const string Preferred = "preferred";
    private readonly Fido2Configuration _config = options.Value.ToFido2();

    public bool Enabled { get; } = options.Value.Enabled;

    /// <summary>Registration options: attestation <c>none</c>, user verification and a discoverable key preferred,
    /// ES256 or RS256, and the user's other credentials excluded. The options JSON is stored with the challenge.</summary>
    public (CreationOptionsJson Json, byte[] Challenge, string Stored) NewRegistration(byte[] userHandle, string name, string displayName,
        IReadOnlyList<PasskeyCredentialRow> exclude)
    {
        var created = fido2.RequestNewCredential(new RequestNewCredentialParams
        {
            User = new Fido2User { Id = userHandle, Name = name, DisplayName = displayName },
            ExcludeCredentials = exclude.Select(Descriptor).ToList(),
            AuthenticatorSelection = new AuthenticatorSelection
            {
                ResidentKey = ResidentKeyRequirement.Preferred,
                UserVerification = UserVerificationRequirement.Preferred,
            },
            AttestationPreference = AttestationConveyancePreference.None,
            PubKeyCredParams = [PubKeyCredParam.ES256, PubKeyCredParam.RS256],
        });
        var json = new CreationOptionsJson(
            new RelyingPartyJson(created.Rp.Id, created.Rp.Name),
            new UserEntityJson(Base64Url.EncodeToString(userHandle), name, displayName),
            Base64Url.EncodeToString(created.Challenge),
            [new CredentialParameterJson("public-key", (int)COSE.Algorithm.ES256), new CredentialParameterJson("public-key", (int)COSE.Algorithm.RS256)],
            (long)created.Timeout,
            exclude.Select(DescriptorJson).ToList(),
            new AuthenticatorSelectionJson(Preferred, false, Preferred),
            "none");
        return (json, created.Challenge, created.ToJson());
    }

    /// <summary>Authentication options listing the user's credentials, user verification preferred.</summary>
    public (RequestOptionsJson Json, byte[] Challenge, string Stored) NewAuthentication(IReadOnlyList<PasskeyCredentialRow> allow)
    {
        var created = fido2.GetAssertionOptions(new GetAssertionOptionsParams
        {
            AllowedCredentials = allow.Select(Descriptor).ToList(),
            UserVerification = UserVerificationRequirement.Preferred,
        });
        var json = new RequestOptionsJson(Base64Url.EncodeToString(created.Challenge), (long)created.Timeout, created.RpId!,
            allow.Select(DescriptorJson).ToList(), Preferred);
        return (json, created.Challenge, created.ToJson());
    }

    /// <summary>Checks a <c>RegistrationResponseJSON</c> against the challenge it claims to answer.</summary>
    public async Task<(RegisteredPublicKeyCredential? Credential, Refusal? Refusal)> VerifyRegistrationAsync(AuthenticatorAttestationRawResponse raw,
        PasskeyChallengeRow? challenge, Guid pendingId, DateTimeOffset now, Func<byte[], Task<bool>> isNewCredentialId, CancellationToken ct)
    {
        if (challenge is not null && challenge.PendingId != pendingId)
        {
            return (null, new Refusal("challenge_of_another_enrollment", PasskeyProblems.ChallengeInvalid));
        }

        if (PreCheck(raw.Response.ClientDataJson, challenge, now) is { } refused)
        {
            return (null, refused);
        }

        try
        {
            var credential = await fido2.MakeNewCredentialAsync(new MakeNewCredentialParams
            {
                AttestationResponse = raw,
                OriginalOptions = CredentialCreateOptions.FromJson(challenge!.Options),
                IsCredentialIdUniqueToUserCallback = (p, _) => isNewCredentialId(p.CredentialId),
            }, ct);
            return (credential, null);
        }
        catch (Exception e) when (IsRefusal(e))
        {
            return (null, Refuse(e));
        }
    }

    /// <summary>Checks an <c>AuthenticationResponseJSON</c>: challenge, origin, RP ID, the stored key's signature, the
    /// user handle, and the signature counter (a regression is its own refusal: a possible clone).</summary>
    public async Task<(VerifyAssertionResult? Result, Refusal? Refusal)> VerifyAssertionAsync(AuthenticatorAssertionRawResponse raw,
        PasskeyChallengeRow? challenge, PasskeyCredentialRow? credential, DateTimeOffset now, CancellationToken ct)
    {
        if (PreCheck(raw.Response.ClientDataJson, challenge, now) is { } refused)
        {
            return (null, refused);
        }

        if (credential is null)
        {
            return (null, new Refusal("unknown_credential", PasskeyProblems.InvalidCredential));
        }

        try
        {
            var result = await fido2.MakeAssertionAsync(new MakeAssertionParams
            {
                AssertionResponse = raw,
                OriginalOptions = AssertionOptions.FromJson(challenge!.Options),
                StoredPublicKey = credential.PublicKey,
                StoredSignatureCounter = (uint)credential.SignCount,
                IsUserHandleOwnerOfCredentialIdCallback = (p, _) =>
                    Task.FromResult(CryptographicOperations.FixedTimeEquals(p.UserHandle, credential.UserHandle)),
            }, ct);

            // The library lets a zero counter follow a non-zero one; WebAuthn §7.2 step 21 does not.
            return result.SignCount == 0 && credential.SignCount > 0
                ? (null, new Refusal("counter_regression", PasskeyProblems.CounterRegression))
                : (result, null);
        }
        catch (Exception e) when (IsRefusal(e))
        {
            return (null, Refuse(e));
        }
    }

    /// <summary>What the library cannot tell apart from a generic failure: which challenge, whether it expired, and
    /// whether the origin is ours (the phishing case, worth its own audit reason).</summary>
    private Refusal? PreCheck(byte[] clientDataJson, PasskeyChallengeRow? challenge, DateTimeOffset now)
    {
        if (challenge is null)
        {
            return new Refusal("challenge_missing", PasskeyProblems.ChallengeInvalid);
        }

        if (challenge.ExpiresAt <= now.UtcDateTime)
        {
            return new Refusal("challenge_expired", PasskeyProblems.ChallengeInvalid);
        }

        string? claimedChallenge, origin;
        try
        {
            using var client = JsonDocument.Parse(clientDataJson);
            claimedChallenge = client.RootElement.GetProperty("challenge").GetString();
            origin = client.RootElement.GetProperty("origin").GetString();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            return new Refusal("malformed_client_data", PasskeyProblems.InvalidCredential);
        }

        if (claimedChallenge is null || !Base64Url.IsValid(claimedChallenge) ||
            !CryptographicOperations.FixedTimeEquals(Base64Url.DecodeFromChars(claimedChallenge), challenge.Challenge))
        {
            return new Refusal("challenge_mismatch", PasskeyProblems.ChallengeInvalid);
        }

        if (origin is null || !IsAllowedOrigin(origin))
        {
            return new Refusal("origin_mismatch", PasskeyProblems.InvalidCredential);
        }

        return null;
    }

    /// <summary>Whether the origin the browser wrote is one of <c>Passkeys:Origins</c>. The library normalises it with
    /// <c>new Uri(origin)</c>, which throws for a string that is no absolute URI ("x", "", "https://"): no allowed origin.</summary>
    private bool IsAllowedOrigin(string origin)
    {
        try
        {
            return _config.FullyQualifiedOrigins.Contains(origin.ToFullyQualifiedOrigin());
        }
        catch (UriFormatException)
        {
            return false;
        }
    }

    /// <summary>Hostile or broken input makes the library (or the CBOR and crypto code under it) throw many kinds of
    /// exceptions, a bare <see cref="Exception"/> included (its attestation verifiers' <c>ToCoseCurve</c>, for a certificate
    /// key on a curve COSE does not name); each is a refused credential, never a 500. Only cancellation and the database's
    /// errors (the credential-id callback reads it) pass, to become 499 or 503.</summary>
    private static bool IsRefusal(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is OperationCanceledException or Npgsql.NpgsqlException or InvalidOperationException { Source: "Npgsql" } or OutOfMemoryException)
            {
                return false;
            }
        }

        return true;
    }

    private static Refusal Refuse(Exception e) => (e as Fido2VerificationException)?.Code switch
    {
        Fido2NetLib.Exceptions.Fido2ErrorCode.InvalidRpidHash => new Refusal("rp_id_mismatch", PasskeyProblems.InvalidCredential),
        Fido2NetLib.Exceptions.Fido2ErrorCode.InvalidSignature => new Refusal("bad_signature", PasskeyProblems.InvalidCredential),
        Fido2NetLib.Exceptions.Fido2ErrorCode.InvalidSignCount => new Refusal("counter_regression", PasskeyProblems.CounterRegression),
        Fido2NetLib.Exceptions.Fido2ErrorCode.NonUniqueCredentialId => new Refusal("credential_already_registered", PasskeyProblems.InvalidCredential),
        Fido2NetLib.Exceptions.Fido2ErrorCode.UserPresentFlagNotSet => new Refusal("user_not_present", PasskeyProblems.InvalidCredential),
        _ => new Refusal("invalid_response", PasskeyProblems.InvalidCredential),
    };

    private static PublicKeyCredentialDescriptor Descriptor(PasskeyCredentialRow row) =>
        new(PublicKeyCredentialType.PublicKey, row.CredentialId, PasskeyJson.Transports(row.Transports));

    private static CredentialDescriptorJson DescriptorJson(PasskeyCredentialRow row) =>
        new("public-key", Base64Url.EncodeToString(row.CredentialId), row.Transports.Length == 0 ? null : row.Transports);
}
