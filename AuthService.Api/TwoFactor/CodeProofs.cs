using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor.Methods;
using AuthService.Core.BackupCodes;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>A code as a proof — a login at <c>/verify</c> or the proof of a change: a backup code, or a code of one of the user's
/// factors, checked only by the method that issued it (<see cref="IFactorMethod.CheckCodeAsync"/>, in registration order). It
/// runs the proof pipeline of <see cref="ProofCheck"/>: the user's lock, the gate, the method's check, the refusal or the spend.
/// A TOTP login of a user with only TOTP factors takes the coalesced batch first.</summary>
public sealed class CodeProofs(ProofCheck proofs, FactorMethodRegistry methods, SecretBox secrets)
{
    /// <summary>A login (<c>/verify</c>): checks <paramref name="proof"/> (a code of one of the user's factors, or a backup code)
    /// under the user's lock and spends it in the same step; what the login writes about its browser (<paramref name="device"/>)
    /// commits in that step too. A login that remembers its browser takes the single-user path, where the device is stored.</summary>
    public async Task<Result<VerifyResponse>> ConsumeAsync(string userId, Proof? proof, Guid? actor, string stage, CancellationToken cancellationToken,
        LoginDevice? device = null)
    {
        if (ShapeProblem(proof) is { } invalid)
        {
            return invalid;
        }

        if (proof!.Code is { } code && device?.Remember is null
            && await proofs.TryBatchLoginAsync(userId, code, stage, actor, newDevice: device?.IsNew == true) is { } answer)
        {
            return answer;
        }

        return await proofs.CheckAndSpendAsync(userId, actor, (c, t, user, state, now) => CheckCodeAsync(c, t, user, state, proof, stage, now, actor, null),
            cancellationToken, device);
    }

    /// <summary>The proof of a change (a switch, an addition or removal, new backup codes): checked under the user's lock — a
    /// wrong one is recorded as a failure at once — but not spent. The change spends it (<see cref="ProofCheck.SpendAsync"/>) in
    /// its own transaction, so a change that is refused (a budget, a cap, the provider) leaves it unspent (DESIGN §9.1).</summary>
    /// <param name="excluded">A factor whose own codes do not count (the one a removal removes: its proof must come from another
    /// factor or a backup code).</param>
    public Task<Result<CheckedProof>> CheckAsync(string userId, Proof? proof, Guid? actor, string stage, CancellationToken cancellationToken,
        Guid? excluded = null) =>
        ShapeProblem(proof) is { } invalid
            ? Task.FromResult<Result<CheckedProof>>(invalid)
            : proofs.CheckInTransactionAsync(userId, (c, t, user, state, now) => CheckCodeAsync(c, t, user, state, proof!, stage, now, actor, excluded),
                cancellationToken);

    /// <summary>Exactly one of code, backupCode and bypassCode, at most 64 printable characters.</summary>
    private static Problem? ShapeProblem(Proof? proof)
    {
        if (proof is null)
        {
            return Problems.Validation("proof is required: a code of the current factor or a backup code.");
        }

        if (new[] { proof.Code, proof.BackupCode, proof.BypassCode }.Count(v => v is not null) != 1)
        {
            return Problems.Validation("Send exactly one of code, backupCode and bypassCode.");
        }

        var value = proof.Code ?? proof.BackupCode ?? proof.BypassCode!;
        return Core.Text.PrintableText.IsValid(value)
            ? null
            : Problems.Validation($"The code must be at most {Core.Text.PrintableText.MaxLength} printable characters.");
    }

    /// <summary>A backup code, a support bypass code, or a code tried against each method of the user's eligible factors (a code of
    /// <paramref name="excluded"/> does not count; a passkey-only user's code is never accepted). The first method's own failed
    /// decision (a replayed TOTP step) is the refusal's.</summary>
    private Task<Result<CheckedProof>> CheckCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserFactors user,
        AttemptState state, Proof proof, string stage, DateTimeOffset now, Guid? actor, Guid? excluded)
    {
        if (ProofCheck.RemovesLastFactor(user, excluded) is { } last)
        {
            return Task.FromResult<Result<CheckedProof>>(last); // a right backup code was counted as a failed attempt here
        }

        var eligible = user.Factors.Where(f => f.FactorId != excluded).ToList();

        var held = methods.All.Where(m => m.AcceptsCodes).Select(m => (Method: m, Factors: eligible.Where(f => f.Method == m.Name).ToList()))
            .Where(h => h.Factors.Count > 0).ToList();
        var audited = proof.BackupCode is not null ? FactorMethods.BackupCode
            : proof.BypassCode is not null ? Core.BypassCodes.BypassCodeRules.Method
            : held.Count == 1 ? held[0].Method.Name
            : user.Default.Method;
        var subject = new ProofSubject(user.UserId, HasFactor: true, audited, stage, state, now, actor);
        return proofs.CheckGatedAsync(connection, transaction, subject, async () =>
        {
            if (proof.BackupCode is { } backupCode)
            {
                return await CheckBackupCodeAsync(connection, transaction, user.UserId, eligible, backupCode, stage, actor);
            }

            if (proof.BypassCode is { } bypassCode)
            {
                return await BypassCodeCheck.CheckAsync(secrets, connection, transaction, user.UserId, eligible, bypassCode, stage, now, actor);
            }

            ProofDecision? failure = null;
            foreach (var (method, factors) in held)
            {
                var outcome = await method.CheckCodeAsync(new CodeAttempt(connection, transaction, user.UserId, factors, state, proofs.Limits,
                    proof.Code!, stage, now, actor));
                if (outcome.Accepted is not null || outcome.Answer is not null)
                {
                    return outcome;
                }

                failure ??= outcome.Decision;
            }

            return MethodOutcome<CheckedProof>.Refuse(decision: failure);
        });
    }

    /// <summary>A backup code proves the user, not a factor: bound to a factor the change leaves in place, so a reset or a
    /// replacement meanwhile refuses its spending.</summary>
    private static async Task<MethodOutcome<CheckedProof>> CheckBackupCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string userId, IReadOnlyList<FactorRow> eligible, string backupCode, string stage, Guid? actor)
    {
        var stored = await TwoFactorStore.GetUnusedBackupCodesAsync(connection, transaction, userId);
        var match = BackupCodeSet.FindMatch(backupCode, stored.Select(s => new BackupCodeHash(s.Salt, s.CodeHash, s.Iterations)).ToList());
        if (match < 0 || eligible.Count == 0)
        {
            return MethodOutcome<CheckedProof>.NoMatch;
        }

        var id = stored[match].Id;
        return new CheckedProof(eligible[0].FactorId, FactorMethods.BackupCode, stage, null, async (c, t, at) =>
        {
            var remaining = await TwoFactorStore.TryUseBackupCodeAsync(c, t, userId, id, at);
            if (remaining is not null)
            {
                await AuditLog.AppendAsync(c, t, userId, new AuditEvent.BackupCodeUsed(FactorMethods.BackupCode, stage, remaining.Value), at, actor);
            }

            return remaining;
        })
        {
            FactorsAtCheck = [.. eligible.Select(f => f.FactorId)],
        };
    }
}
