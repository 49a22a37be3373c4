using AuthService.Core.Policy;
using System.Security.Cryptography;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using Npgsql;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>Registers a passkey: an enrollment or a switch starts a pending factor with a registration challenge
/// (5 minutes, single use, bound to that pending row); the <c>RegistrationResponseJSON</c> confirms it. Confirmation
/// runs under the user's lock with the same attempt limit and failure ledger as a code confirmation.</summary>
public sealed class PasskeyEnrollment(
    NpgsqlDataSource dataSource,
    PendingFactors pendingFactors,
    PendingConfirmation confirmation,
    PasskeyCeremonies ceremonies,
    TimeProvider time)
{
    public bool Enabled => ceremonies.Enabled;

    /// <summary>Starts a pending passkey enrollment (<see cref="PendingPurposes.Enroll"/>) or switch
    /// (<see cref="PendingPurposes.Switch"/>, with its checked <paramref name="proof"/>, spent when the pending row is stored).</summary>
    public async Task<Result<PendingStarted>> StartAsync(string userId, string purpose, string? accountName, string? displayName, CheckedProof? proof,
        Guid? actor, CancellationToken ct, string? label = null)
    {
        if (!ceremonies.Enabled)
        {
            return PasskeyProblems.NotConfigured;
        }

        if (LabelProblem(accountName, displayName) is { } invalid)
        {
            return invalid;
        }

        var name = string.IsNullOrWhiteSpace(accountName) ? userId : accountName.Trim();
        var shown = string.IsNullOrWhiteSpace(displayName) ? name : displayName.Trim();
        var now = time.GetUtcNow();
        IReadOnlyList<PasskeyCredentialRow> existing;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        {
            existing = await PasskeyStore.GetCredentialsAsync(connection, null, userId);
        }

        var (options, challenge, stored) = ceremonies.NewRegistration(RandomNumberGenerator.GetBytes(32), name, shown, existing);
        var expiresAt = now + PasskeyOptions.ChallengeLifetime;
        var pending = PendingFactors.New(userId, purpose, FactorMethods.Passkey, now, PasskeyOptions.ChallengeLifetime, proof, label);
        var refused = await pendingFactors.StoreAsync(pending, proof, now, actor, ct,
            (connection, transaction) => PasskeyStore.PutChallengeAsync(connection, transaction, new PasskeyChallengeRow
            {
                UserId = userId,
                Ceremony = PasskeyStore.Registration,
                Purpose = PasskeyStore.PendingPurpose,
                PendingId = pending.Id,
                Challenge = challenge,
                Options = stored,
                CreatedAt = now.UtcDateTime,
                ExpiresAt = expiresAt.UtcDateTime,
            }));
        return refused is not null
            ? refused
            : new PendingStarted(null, null, new PasskeyEnrollmentResponse(FactorMethods.Passkey, options, expiresAt, pending.Id));
    }

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
        var challenge = await PasskeyStore.TakeChallengeAsync(connection, transaction, pending.UserId, PasskeyStore.Registration,
            PasskeyStore.PendingPurpose);
        var (registered, refusal) = await ceremonies.VerifyRegistrationAsync(parsed, challenge, pending.Id, now,
            async id => !await PasskeyStore.CredentialExistsAsync(connection, transaction, id), ct);
        if (refusal is not null)
        {
            return new PendingCheck(false, Reason: refusal.Reason, Shown: refusal.Problem);
        }

        return new PendingCheck(true, AlsoStore: (c, t) => PasskeyStore.InsertCredentialAsync(c, t, new PasskeyCredentialRow
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
        }));
    };

    /// <summary>What the authenticator will show: short, printable.</summary>
    public static Problem? LabelProblem(string? accountName, string? displayName) => IsLabel(accountName) && IsLabel(displayName)
        ? null
        : Problems.Validation($"accountName and displayName must be at most {Core.Text.PrintableText.MaxLength} characters without control characters.");

    private static bool IsLabel(string? value) => value is null || Core.Text.PrintableText.IsValid(value);
}
