using AuthService.Api.Events;
using AuthService.Core.Policy;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using AuthService.Core.Factors;
using AuthService.Api.TwoFactor.Methods;
using Npgsql;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>Passkey assertions: a challenge listing the user's credentials, bound to the passkey factor and to its purpose
/// (<c>login</c> for <c>/verify</c>, <c>proof</c> for a change, DESIGN §9.1); then the assertion checked under the user's lock
/// with the gate, limits and failure ledger of every other method (<see cref="ProofCheck"/>), and spent — the challenge and
/// the signature counter — together with what it authorises.</summary>
public sealed class PasskeyVerification(
    NpgsqlDataSource dataSource,
    ProofCheck proofs,
    PasskeyCeremonies ceremonies,
    TimeProvider time,
    ILogger<PasskeyVerification> logger)
{
    public const string CounterRegressionEvent = AuditEvents.PasskeyCounterRegression;

    /// <summary>Issues a fresh authentication challenge of <paramref name="purpose"/> (the previous one of that purpose dies),
    /// bound to the user's passkey factor as it is now. Costs nothing to send, so it has no daily budget; the attempts made
    /// with it are limited like any other.</summary>
    /// <param name="factorId">One passkey factor the assertion must come from; null: any passkey of the user (DESIGN §9.2).</param>
    public async Task<Result<PasskeyChallengeResponse>> ChallengeAsync(string userId, string purpose, CancellationToken ct, Guid? factorId = null)
    {
        if (!ceremonies.Enabled)
        {
            return PasskeyProblems.NotConfigured;
        }

        var now = time.GetUtcNow();
        // Under the user's lock, read and stored in one transaction (DESIGN §9.1): a removal, switch or reset either commits
        // first, and the factor is not found, or waits, and then takes the challenge with the factor it was issued for.
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var (user, _) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now); // the lock and the read, one round trip
        var picked = Challenge.Pick(user, FactorMethods.Passkey, factorId);
        if (picked.Error is { } refused)
        {
            return refused;
        }

        var allowed = (await PasskeyStore.GetCredentialsAsync(connection, transaction, userId)).Where(c => factorId is null || c.FactorId == factorId)
            .ToList();
        var (options, challenge, stored) = ceremonies.NewAuthentication(allowed);
        var expiresAt = now + PasskeyOptions.ChallengeLifetime;
        await PasskeyStore.PutChallengeAsync(connection, transaction, new PasskeyChallengeRow
        {
            UserId = userId,
            Ceremony = PasskeyStore.Authentication,
            Purpose = purpose,
            FactorId = factorId,
            Challenge = challenge,
            Options = stored,
            CreatedAt = now.UtcDateTime,
            ExpiresAt = expiresAt.UtcDateTime,
        });
        await transaction.CommitAsync(ct);
        return new PasskeyChallengeResponse(options, expiresAt, purpose);
    }

    /// <summary>A login: the assertion of a <c>login</c> challenge, checked and spent at once.</summary>
    public Task<Result<VerifyResponse>> VerifyAsync(string userId, AuthenticationResponseJson credential, Guid? actor, CancellationToken ct,
        LoginDevice? device = null)
    {
        var parsed = PasskeyJson.Authentication(credential);
        return parsed.Error is { } invalid
            ? Task.FromResult<Result<VerifyResponse>>(invalid)
            : proofs.CheckAndSpendAsync(userId, actor, Check(parsed.Value!, TwoFactorApi.LoginStage, actor, ct), ct, device);
    }

    /// <summary>The proof of a change: the assertion of a <c>proof</c> challenge, checked, not spent.</summary>
    public Task<Result<CheckedProof>> CheckAsync(string userId, AuthenticationResponseJson credential, Guid? actor, string stage, CancellationToken ct,
        Guid? excluded = null)
    {
        var parsed = PasskeyJson.Authentication(credential);
        return parsed.Error is { } invalid
            ? Task.FromResult<Result<CheckedProof>>(invalid)
            : proofs.CheckInTransactionAsync(userId, Check(parsed.Value!, stage, actor, ct, excluded), ct);
    }

    /// <summary>The assertion against the user's live challenge of the stage's purpose — issued for the credential's factor, or
    /// for every passkey of the user — and the stored credential (not one of <paramref name="excluded"/>, the factor a removal removes). A refused assertion uses the challenge up and is a failed verification like a wrong code; an
    /// accepted one spends the challenge and advances the signature counter when it is spent.</summary>
    private ProofMethodCheck Check(Fido2NetLib.AuthenticatorAssertionRawResponse raw, string stage, Guid? actor, CancellationToken ct,
        Guid? excluded = null) =>
        async (connection, transaction, user, state, now) =>
        {
            var userId = user.UserId;
            if (ProofCheck.RemovesLastFactor(user, excluded) is { } last)
            {
                return last; // not that the user has no passkey
            }

            if (!user.OfMethod(FactorMethods.Passkey).Any(f => f.FactorId != excluded))
            {
                return PasskeyProblems.NotPasskeyUser;
            }

            var subject = new ProofSubject(userId, HasFactor: true, FactorMethods.Passkey, stage, state, now, actor);
            return await proofs.CheckGatedAsync(connection, transaction, subject, () => AssertAsync(connection, transaction, raw, userId, stage, actor,
                excluded, now, ct));
        };

    /// <summary>The assertion against the live challenge and the stored credential: the unspent proof, or the refusal (the
    /// challenge used up; a counter regression audited on its own as a possible clone).</summary>
    private async Task<MethodOutcome<CheckedProof>> AssertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Fido2NetLib.AuthenticatorAssertionRawResponse raw, string userId, string stage, Guid? actor, Guid? excluded, DateTimeOffset now,
        CancellationToken ct)
    {
        var purpose = ProofCheck.PurposeOf(stage);
        var challenge = await PasskeyStore.GetChallengeAsync(connection, transaction, userId, PasskeyStore.Authentication, purpose);
        var stored = (await PasskeyStore.GetCredentialsAsync(connection, transaction, userId))
            .FirstOrDefault(c => c.CredentialId.AsSpan().SequenceEqual(raw.RawId) && c.FactorId != excluded);
        var issuedFor = challenge is not null && (challenge.FactorId is null || challenge.FactorId == stored?.FactorId) ? challenge : null;
        var (result, refusal) = await ceremonies.VerifyAssertionAsync(raw, issuedFor, stored, now, ct);
        if (result is not null && !(stored!.SignCount < result.SignCount || (stored.SignCount == 0 && result.SignCount == 0)))
        {
            // WebAuthn §7.2 step 21, told apart now; TryAdvanceCounterAsync enforces the same rule when the proof is spent.
            (result, refusal) = (null, new Refusal("counter_regression", PasskeyProblems.CounterRegression));
        }

        if (refusal is not null)
        {
            if (challenge is not null)
            {
                await PasskeyStore.TrySpendChallengeAsync(connection, transaction, challenge);
            }

            await AuditCounterRegressionAsync(connection, transaction, userId, refusal, stored, now, actor);
            return MethodOutcome<CheckedProof>.Refuse(refusal.Reason, refusal.Problem, factorId: stored?.FactorId);
        }

        var (credentialId, factorId) = (stored!.CredentialId, stored.FactorId);
        // Another request used its challenge first (README, /verify): what the check answers and audits for a used challenge.
        var spentFirst = (PasskeyProblems.ChallengeInvalid, "challenge_missing");
        return new CheckedProof(factorId, FactorMethods.Passkey, stage, null, async (c, t, at) =>
        {
            // A challenge spent meanwhile is a replay (the caller records the failure; the challenge, once taken, stays used).
            if (!await PasskeyStore.TrySpendChallengeAsync(c, t, challenge!))
            {
                return null;
            }

            if (!await PasskeyStore.TryAdvanceCounterAsync(c, t, userId, credentialId, result!.SignCount, result.IsBackedUp, at))
            {
                // Another assertion of this credential moved its counter past this one's since the check: the regression the
                // check refuses and audits as a possible clone, found at the spend.
                var regression = new Refusal("counter_regression", PasskeyProblems.CounterRegression);
                await AuditCounterRegressionAsync(c, t, userId, regression, stored, at, actor);
                spentFirst = (regression.Problem, regression.Reason);
                return null;
            }

            var remaining = await TwoFactorStore.RecordSuccessAsync(c, t, userId, factorId, at);
            await AuditLog.AppendAsync(c, t, userId,
                new AuditEvent.VerificationSucceeded(FactorMethods.Passkey, stage, BackupCodesRemaining: remaining, FactorId: factorId), at, actor);
            return remaining;
        })
        {
            SpentFirst = () => spentFirst,
        };
    }

    /// <summary>A counter regression is audited on its own as a possible clone (the refusal itself is a failed verification
    /// like a wrong code).</summary>
    private async Task AuditCounterRegressionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId,
        Refusal refusal, PasskeyCredentialRow? credential, DateTimeOffset now, Guid? actor)
    {
        if (refusal.Problem == PasskeyProblems.CounterRegression)
        {
            await AuditLog.AppendAsync(connection, transaction, userId,
                new AuditEvent.PasskeyCounterRegression(credential?.Aaguid, credential?.SignCount, credential?.FactorId), now, actor);
            logger.LogWarning("Refused a passkey assertion of {UserId} with factor {FactorId}: the signature counter went backwards (possible cloned authenticator)",
                userId, credential?.FactorId);
            PasskeyMetrics.CounterRegressions.Inc();
        }
    }
}
