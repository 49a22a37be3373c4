using AuthService.Core.Policy;
using System.Security.Cryptography;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using Npgsql;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>Confirms a passkey registration (started by <see cref="PasskeyMethod"/> with a registration challenge, 5 minutes,
/// single use, bound to that pending row): the <c>RegistrationResponseJSON</c> confirms it. Confirmation
/// runs under the user's lock with the same attempt limit and failure ledger as a code confirmation.</summary>
public sealed class PasskeyEnrollment(PendingConfirmation confirmation, PasskeyCeremonies ceremonies)
{
    public Task<Result<ConfirmResponse>> ConfirmEnrollmentAsync(string userId, RegistrationResponseJson credential, Guid? actor,
        CancellationToken ct)
    {
        var parsed = PasskeyJson.Registration(credential);
        return parsed.Error is { } invalid
            ? Task.FromResult<Result<ConfirmResponse>>(invalid)
            : confirmation.ConfirmEnrollmentAsync(userId, FactorMethods.Passkey, actor, Check(parsed.Value!, credential, ct), ct);
    }

    public Task<Result<SwitchConfirmResponse>> ConfirmSwitchAsync(string userId, RegistrationResponseJson credential, Guid? actor,
        CancellationToken ct)
    {
        var parsed = PasskeyJson.Registration(credential);
        return parsed.Error is { } invalid
            ? Task.FromResult<Result<SwitchConfirmResponse>>(invalid)
            : confirmation.ConfirmSwitchAsync(userId, FactorMethods.Passkey, actor, Check(parsed.Value!, credential, ct), ct);
    }

    /// <summary>Confirms the passkey being added as factor <paramref name="pendingId"/>.</summary>
    public Task<Result<FactorConfirmResponse>> ConfirmAdditionAsync(string userId, Guid pendingId, RegistrationResponseJson credential, Guid? actor,
        CancellationToken ct)
    {
        var parsed = PasskeyJson.Registration(credential);
        return parsed.Error is { } invalid
            ? Task.FromResult<Result<FactorConfirmResponse>>(invalid)
            : confirmation.ConfirmAdditionAsync(userId, pendingId, FactorMethods.Passkey, actor, Check(parsed.Value!, credential, ct), ct);
    }

    /// <summary>The attestation against the registration challenge of the pending row (single use); accepted, it stores the
    /// credential with the new factor.</summary>
    private PendingConfirmation.Check Check(Fido2NetLib.AuthenticatorAttestationRawResponse parsed, RegistrationResponseJson credential,
        CancellationToken ct) => async (connection, transaction, pending, now) =>
    {
        var challenge = await PasskeyStore.TakeRegistrationAsync(connection, transaction, pending.UserId, pending.Id);
        var (registered, refusal) = await ceremonies.VerifyRegistrationAsync(parsed, challenge, pending.Id, now,
            async id => !await PasskeyStore.CredentialExistsAsync(connection, transaction, id), ct);
        if (refusal is not null)
        {
            return new PendingCheck(false, Reason: refusal.Reason, Shown: refusal.Problem);
        }

        return new PendingCheck(true, AlsoStore: async (c, t) => await PasskeyStore.InsertCredentialAsync(c, t, new PasskeyCredentialRow
        {
            CredentialId = registered!.Id,
            UserId = pending.UserId,
            FactorId = pending.Id,
            PublicKey = registered.PublicKey,
            SignCount = registered.SignCount,
            Transports = PasskeyJson.KnownOnly(credential.Response?.Transports),
            Aaguid = registered.AaGuid,
            UserHandle = registered.User.Id,
            AttestationFmt = registered.AttestationFormat,
            BackupEligible = registered.IsBackupEligible,
            BackedUp = registered.IsBackedUp,
            CreatedAt = now.UtcDateTime,
        }) ? null : PasskeyProblems.InvalidCredential); // registered by another user at the same moment: as if it had been before
    };
}
