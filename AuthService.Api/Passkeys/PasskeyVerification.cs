using AuthService.Core.Policy;
using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using AuthService.Core.Factors;
using Npgsql;

namespace AuthService.Api.Passkeys;

/// <summary>Login with a passkey: a challenge listing the user's credentials, then the assertion checked and the
/// challenge consumed under the user's lock, in the same atomic step as the lockout, the per-minute attempt limit and
/// the failure ledger of every other method (<see cref="ProofCheck.GateAsync"/>, <see cref="ProofCheck.RefuseAsync"/>). The same check is the proof of a passkey user for a switch or
/// new backup codes.</summary>
public sealed class PasskeyVerification(
    NpgsqlDataSource dataSource,
    ProofCheck proofs,
    PasskeyCeremonies ceremonies,
    TimeProvider time,
    ILogger<PasskeyVerification> logger)
{
    public const string CounterRegressionEvent = "passkey_counter_regression";

    /// <summary>Issues a fresh authentication challenge (the previous one dies). Costs nothing to send, so it has no
    /// daily budget; the attempts made with it are limited like any other.</summary>
    public async Task<Result<PasskeyChallengeResponse>> ChallengeAsync(string userId, CancellationToken ct)
    {
        if (!ceremonies.Enabled)
        {
            return PasskeyProblems.NotConfigured;
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var factor = await TwoFactorStore.GetFactorAsync(connection, null, userId);
        if (Challenge.Refusal(factor, FactorMethods.Passkey) is { } refused)
        {
            return refused;
        }

        var (options, challenge, stored) = ceremonies.NewAuthentication(await PasskeyStore.GetCredentialsAsync(connection, null, userId));
        var expiresAt = now + PasskeyOptions.ChallengeLifetime;
        await PasskeyStore.PutChallengeAsync(connection, null, new PasskeyChallengeRow
        {
            UserId = userId,
            Ceremony = PasskeyStore.Authentication,
            Challenge = challenge,
            Options = stored,
            CreatedAt = now.UtcDateTime,
            ExpiresAt = expiresAt.UtcDateTime,
        });
        return new PasskeyChallengeResponse(options, expiresAt);
    }

    public Task<Result<VerifyResponse>> VerifyAsync(string userId, AuthenticationResponseJson credential, Guid? actor, CancellationToken ct) =>
        ConsumeAsync(userId, credential, actor, TwoFactorApi.LoginStage, ct);

    /// <summary>New backup codes, proved by a passkey assertion (replaced in the same transaction as the proof).</summary>
    public Task<Result<BackupCodesResponse>> RegenerateBackupCodesAsync(string userId, AuthenticationResponseJson credential, Guid? actor,
        CancellationToken ct) =>
        BackupCodes.RegenerateAsync(userId, actor, alsoOnSuccess => ConsumeAsync(userId, credential, actor, BackupCodes.Stage, ct, alsoOnSuccess));

    /// <summary>Checks and consumes a passkey assertion of the user's current factor.</summary>
    public async Task<Result<VerifyResponse>> ConsumeAsync(string userId, AuthenticationResponseJson credential, Guid? actor, string stage,
        CancellationToken ct, Func<NpgsqlConnection, NpgsqlTransaction, DateTimeOffset, Task>? alsoOnSuccess = null)
    {
        var parsed = PasskeyJson.Authentication(credential);
        if (parsed.Error is not null)
        {
            return parsed.Error;
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var (factor, recentFailures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now - AttemptLimits.Window);
        if (factor is null)
        {
            return Problems.NotEnabled;
        }

        if (factor.Method != FactorMethods.Passkey)
        {
            return PasskeyProblems.NotPasskeyUser;
        }

        var state = ProofCheck.StateOf(factor, recentFailures);
        if (await proofs.GateAsync(connection, transaction, userId, state, now, actor) is { } closed)
        {
            await transaction.CommitAsync(ct);
            return closed;
        }

        var raw = parsed.Value!;
        var challenge = await PasskeyStore.TakeChallengeAsync(connection, transaction, userId, PasskeyStore.Authentication);
        var stored = (await PasskeyStore.GetCredentialsAsync(connection, transaction, userId))
            .FirstOrDefault(c => c.CredentialId.AsSpan().SequenceEqual(raw.RawId));
        var (result, refusal) = await ceremonies.VerifyAssertionAsync(raw, challenge, stored, now, ct);
        if (result is not null &&
            !await PasskeyStore.TryAdvanceCounterAsync(connection, transaction, userId, stored!.CredentialId, result.SignCount, result.IsBackedUp, now))
        {
            refusal = new Refusal("counter_regression", PasskeyProblems.CounterRegression);
        }

        if (refusal is not null)
        {
            return await RefuseAsync(connection, transaction, factor, state, refusal, stored, stage, now, actor, ct);
        }

        var remaining = await TwoFactorStore.ResetFailuresAsync(connection, transaction, userId, now);
        await AuditLog.AppendAsync(connection, transaction, userId, AuditEvents.VerificationSucceeded, now, actor,
            new { method = FactorMethods.Passkey, stage, backupCodesRemaining = remaining });
        if (alsoOnSuccess is not null)
        {
            await alsoOnSuccess(connection, transaction, now);
        }

        await transaction.CommitAsync(ct);
        ServiceMetrics.Verifications.WithLabels(FactorMethods.Passkey, "success").Inc();
        return new VerifyResponse(true, FactorMethods.Passkey, remaining, null);
    }

    /// <summary>A refused assertion is a failed verification like a wrong code (ledger, consecutive count, lock); a
    /// counter regression is also audited on its own as a possible clone.</summary>
    private async Task<Problem> RefuseAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, FactorRow factor,
        AttemptState state, Refusal refusal, PasskeyCredentialRow? credential, string stage, DateTimeOffset now,
        Guid? actor, CancellationToken ct)
    {
        if (refusal.Problem == PasskeyProblems.CounterRegression)
        {
            await AuditLog.AppendAsync(connection, transaction, factor.UserId, CounterRegressionEvent, now, actor,
                new { aaguid = credential?.Aaguid, storedSignCount = credential?.SignCount });
            logger.LogWarning("Refused a passkey assertion of {UserId}: the signature counter went backwards (possible cloned authenticator)",
                factor.UserId);
            PasskeyMetrics.CounterRegressions.Inc();
        }

        var answer = await proofs.RefuseAsync(connection, transaction, ProofDecisions.AfterCheck(state, proofs.Limits, now, accepted: false),
            factor.UserId, hasFactor: true, FactorMethods.Passkey, stage, now, actor, refusal.Reason, refusal.Problem);
        await transaction.CommitAsync(ct);
        return answer;
    }
}
