using System.Security.Cryptography;
using AuthService.Api.Storage;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Checks a sent phone code: spends one of its attempts first (the per-code limit stays exact under concurrency),
/// compares the keyed hashes in constant time, and consumes the code on a match (single use).</summary>
public static class PhoneCodeCheck
{
    /// <param name="expectedCodeId">For a pending enrollment: only the code sent for that pending row confirms it.</param>
    public static async Task<bool> TryConsumeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SecretBox secrets, string userId,
        string purpose, string? input, DateTimeOffset now, Guid? expectedCodeId = null)
    {
        var code = PhoneCodes.Normalize(input);
        if (code is null)
        {
            return false;
        }

        var row = await PhoneCodeStore.TakeAttemptAsync(connection, transaction, userId, purpose, PhoneCodes.MaxAttemptsPerCode, now);
        if (row is null || (expectedCodeId is { } expectedId && row.Id != expectedId))
        {
            return false;
        }

        var expected = secrets.PhoneCodeHash(row.KeyId, userId, purpose, row.Id, code);
        return CryptographicOperations.FixedTimeEquals(expected, row.CodeHash)
               && await PhoneCodeStore.ConsumeCodeAsync(connection, transaction, userId, purpose, row.Id);
    }
}
