using System.Security.Cryptography;
using AuthService.Api.Storage;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Checks a sent phone code: only the live code of that purpose sent for that factor (or pending row) is looked at,
/// one of its attempts is spent first (the per-code limit stays exact under concurrency), and the keyed hashes — which bind
/// user, purpose, code id and factor — are compared in constant time.</summary>
public static class PhoneCodeCheck
{
    /// <summary>The matching code (its id and the factor it was sent for), not yet consumed (<see cref="PhoneCodeStore.ConsumeCodeAsync"/>
    /// spends it), or null. Only a code sent for one of <paramref name="factorIds"/> is looked at.</summary>
    /// <param name="expectedCodeId">For a pending enrollment: only the code sent for that pending row confirms it.</param>
    /// <remarks>A match gives its attempt back, in the same transaction (the row stays locked until it ends): a proof's code is
    /// matched when a change is checked and spent only with the change, so a right code whose change is refused (a budget, the
    /// provider) must not use up the attempts that bound wrong guesses.</remarks>
    public static async Task<(Guid Id, Guid FactorId)?> TryMatchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SecretBox secrets,
        string userId, string purpose, Guid[] factorIds, string? input, DateTimeOffset now, Guid? expectedCodeId = null)
    {
        var match = await MatchAsync(connection, transaction, secrets, userId, purpose, factorIds, input, now, expectedCodeId);
        if (match is { } matched)
        {
            await PhoneCodeStore.GiveBackAttemptAsync(connection, transaction, userId, purpose, matched.Id);
        }

        return match;
    }

    private static async Task<(Guid Id, Guid FactorId)?> MatchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SecretBox secrets,
        string userId, string purpose, Guid[] factorIds, string? input, DateTimeOffset now, Guid? expectedCodeId)
    {
        var code = PhoneCodes.Normalize(input);
        if (code is null)
        {
            return null;
        }

        var row = await PhoneCodeStore.TakeAttemptAsync(connection, transaction, userId, purpose, factorIds, PhoneCodes.MaxAttemptsPerCode, now);
        if (row is null || (expectedCodeId is { } expectedId && row.Id != expectedId))
        {
            return null;
        }

        var expected = secrets.PhoneCodeHash(row.KeyId, userId, purpose, row.Id, row.FactorId, code);
        return CryptographicOperations.FixedTimeEquals(expected, row.CodeHash) ? (row.Id, row.FactorId) : null;
    }

    /// <summary><see cref="TryMatchAsync"/> and the code consumed on a match (single use); false when wrong or consumed first by another request.</summary>
    public static async Task<bool> TryConsumeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SecretBox secrets, string userId,
        string purpose, Guid factorId, string? input, DateTimeOffset now, Guid? expectedCodeId = null) =>
        await MatchAsync(connection, transaction, secrets, userId, purpose, [factorId], input, now, expectedCodeId) is { } match
        && await PhoneCodeStore.ConsumeCodeAsync(connection, transaction, userId, purpose, match.Id);
}
