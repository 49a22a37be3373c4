using System.Security.Cryptography;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.BypassCodes;
using AuthService.Core.Security;
using AuthService.Api.TwoFactor.Methods;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>A support bypass code (DESIGN §9.4) as a proof, the way a backup code is one: checked in the proof pipeline under the
/// user's lock after the same gate (locked, per-minute limit), a wrong code recorded as a failure (the per-minute ledger and the
/// lockout count), and a right one spent — one use, conditionally — in the transaction of what it authorises (a login, or a change). Each use is
/// audited with the ticket the code was issued under (webhook <c>two_factor.bypass_code_used</c>).</summary>
public static class BypassCodeCheck
{
    /// <summary>The check of <paramref name="input"/> against the user's live bypass codes, run by <see cref="CodeProofs"/> inside
    /// the proof pipeline (the gate before it, a refusal written after it): the unspent proof, bound to a factor the change leaves
    /// in place (as a backup code's), or no match.</summary>
    public static async Task<MethodOutcome<CheckedProof>> CheckAsync(SecretBox secrets, NpgsqlConnection connection, NpgsqlTransaction transaction,
        string userId, IReadOnlyList<FactorRow> eligible, string input, string stage, DateTimeOffset now, Guid? actor)
    {
        if (BypassCodeRules.Normalize(input) is not { } code || eligible.Count == 0)
        {
            return MethodOutcome<CheckedProof>.NoMatch;
        }

        // A code hashed under a key this instance does not hold (one activated on another instance first) is passed over, so
        // that it does not fail the right code of another row; only when no row matched is the unreadable one the answer (the
        // code typed may be that one's: 503 secret_unavailable, not a wrong code that counts towards the lockout).
        CryptographicException? unreadable = null;
        foreach (var row in await BypassCodeStore.GetLiveAsync(connection, transaction, userId, now))
        {
            byte[] expected;
            try
            {
                expected = BypassCodeRules.Hash(secrets, row.KeyId, userId, row.Id, code);
            }
            catch (CryptographicException e)
            {
                unreadable ??= e;
                continue;
            }

            if (CryptographicOperations.FixedTimeEquals(expected, row.CodeHash))
            {
                var (id, ticket) = (row.Id, row.Ticket);
                return new CheckedProof(eligible[0].FactorId, BypassCodeRules.Method, stage, null,
                    (c, t, at) => UseAsync(c, t, userId, id, ticket, stage, at, actor))
                {
                    FactorsAtCheck = [.. eligible.Select(f => f.FactorId)],
                };
            }
        }

        return unreadable is null ? MethodOutcome<CheckedProof>.NoMatch : throw unreadable;
    }

    /// <summary>One use spent and audited; the backup codes left (what a login answers), or null when another request spent the
    /// last use first, or the code was revoked or expired meanwhile.</summary>
    private static async Task<int?> UseAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, Guid codeId,
        string ticket, string stage, DateTimeOffset now, Guid? actor)
    {
        if (await BypassCodeStore.TryUseAsync(connection, transaction, userId, codeId, now) is not { } usesLeft)
        {
            return null;
        }

        await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.BypassCodeUsed(codeId, stage, ticket, usesLeft), now, actor);
        return await TwoFactorStore.CountUnusedBackupCodesAsync(connection, transaction, userId);
    }
}
