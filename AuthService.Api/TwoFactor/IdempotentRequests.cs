using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.Telephony;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The <c>Idempotency-Key</c> wrapper around a use case that sends something: the first request with a key claims
/// it; a retry with the same key gets the first answer and runs nothing. A refusal that sent nothing releases the key for a
/// retry; an outcome the provider left unknown is stored as the answer (a retry must never send a second message); an
/// exception releases it, unless it came after the provider may have taken the message (<see cref="KeepClaim"/>: then the
/// claim stays until it lapses, like the claim of an instance that died, after <see cref="IdempotencyStore.Lease"/>). A key is bound to
/// the request it was first used for (<see cref="Fingerprint"/>: the route, the fields that matter, the API key and the
/// factor, DESIGN §9.1): the same key with another request is refused with 422 <c>idempotency_key_reused</c>.</summary>
public sealed class IdempotentRequests(NpgsqlDataSource dataSource, TimeProvider time, ILogger<IdempotentRequests> logger)
{
    /// <summary>The longest <c>Idempotency-Key</c> accepted.</summary>
    public const int MaxKeyLength = 128;

    public static Problem? KeyProblem(string? key) =>
        key is not null && (key.Length is 0 or > MaxKeyLength || key.Any(c => c is < '!' or > '~'))
            ? Problems.Validation($"Idempotency-Key must be 1–{MaxKeyLength} visible ASCII characters.")
            : null;

    private const string KeepClaimMark = "AuthService.Idempotency.KeepClaim";

    /// <summary>Marks an exception thrown after the provider may have taken a message (the code could not be stored, say):
    /// the claim is not released, so a retry with the same key sends no second message while the claim lasts.</summary>
    public static void KeepClaim(Exception exception) => exception.Data[KeepClaimMark] = true;

    /// <summary>What binds a key to its request: SHA-256 over the parts that make two requests the same one (not a secret,
    /// nothing of it is ever shown).</summary>
    public static byte[] Fingerprint(params string?[] parts) =>
        SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', parts.Select(p => p ?? "-"))));

    /// <summary>What a keyed request reserves of its claim's lease, beyond its longest send, to store the code it sent (a
    /// budget for a few statements, not a bound: each may take the command timeout). A send starts only while the longest send
    /// and this are left (<see cref="MaySendBy"/>); with less, the claim could lapse while the message is on its way and a
    /// retry with the key send a second one.</summary>
    public static readonly TimeSpan StoreBudget = TimeSpan.FromSeconds(10);

    /// <summary>Whether a send that may take <paramref name="longestSend"/> may start at <paramref name="now"/> for a request
    /// whose claim lapses at <paramref name="claimLapsesAt"/> (always, without a key).</summary>
    public static bool MaySendBy(DateTimeOffset? claimLapsesAt, DateTimeOffset now, TimeSpan longestSend) =>
        claimLapsesAt is not { } lapses || lapses - now >= longestSend + StoreBudget;

    /// <summary>The Retry-After of a key in use: its lease left, from 1 s to 5 s (the first request usually ends within a
    /// second or two; a claim kept after a failed record lasts up to the whole lease, asked again every 5 s).</summary>
    private static int InUseRetryAfter(DateTime? claimedAt, DateTimeOffset now) => claimedAt is { } holder
        ? (int)Math.Clamp(Math.Ceiling((new DateTimeOffset(DateTime.SpecifyKind(holder, DateTimeKind.Utc)) + IdempotencyStore.Lease - now).TotalSeconds), 1, 5)
        : 1; // the claim was gone by the time it was read: the key is (nearly) free

    /// <summary>Runs <paramref name="useCase"/> once per (user, key); without a key, simply runs it. <paramref name="fingerprint"/>
    /// identifies the request (<see cref="Fingerprint"/>), <paramref name="factorId"/> the factor it is for (its answer is dropped
    /// when that factor is removed). The use case is given the time its claim lapses (null without a key): it starts no send
    /// that could outlast it (<see cref="MaySendBy"/>).</summary>
    public async Task<Result<T>> RunAsync<T>(string userId, string? key, byte[] fingerprint, Guid? factorId,
        Func<DateTimeOffset?, Task<Result<T>>> useCase, CancellationToken cancellationToken)
    {
        if (key is null)
        {
            return await useCase(null);
        }

        var claimedAt = time.GetUtcNow();
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            var replay = await IdempotencyStore.BeginAsync(connection, userId, key, fingerprint, factorId, claimedAt);
            if (replay is { Fingerprint: { } first } && !CryptographicOperations.FixedTimeEquals(first, fingerprint))
            {
                return Problems.IdempotencyKeyReused;
            }

            if (replay is { Status: null })
            {
                return Problems.IdempotencyInProgress(InUseRetryAfter(replay.ClaimedAt, claimedAt));
            }

            if (replay is { Response: { } stored })
            {
                return replay.Status is >= 200 and < 300
                    ? JsonSerializer.Deserialize<T>(stored, JsonSerializerOptions.Web)!
                    : JsonSerializer.Deserialize<Problem>(stored, JsonSerializerOptions.Web)!;
            }
        }

        Result<T> result;
        try
        {
            result = await useCase(claimedAt + IdempotencyStore.Lease);
        }
        catch (Exception e)
        {
            if (!e.Data.Contains(KeepClaimMark))
            {
                await ReleaseQuietlyAsync(userId, key, claimedAt);
            }

            throw;
        }

        await CompleteAsync(userId, key, claimedAt, result.Error switch
        {
            null => JsonSerializer.Serialize(result.Value, JsonSerializerOptions.Web),
            { Code: TelephonyProblems.OutcomeUnknownCode } unknown => JsonSerializer.Serialize(unknown, JsonSerializerOptions.Web),
            _ => null,
        }, result.Error?.Status ?? 202);
        return result;
    }

    /// <summary>Stores the answer, or releases the key (<paramref name="response"/> null). Never cancelled by the client: the
    /// work it records has happened.</summary>
    private async Task CompleteAsync(string userId, string key, DateTimeOffset claimedAt, string? response, int status)
    {
        await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
        await IdempotencyStore.CompleteAsync(connection, userId, key, claimedAt, response, status);
    }

    /// <summary>Releases a claimed key after a failure; when the database is what failed, the claim lapses on its own.</summary>
    private async Task ReleaseQuietlyAsync(string userId, string key, DateTimeOffset claimedAt)
    {
        try
        {
            await CompleteAsync(userId, key, claimedAt, null, 0);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            logger.LogWarning("Could not release an Idempotency-Key of {UserId}; it lapses in {Lease}", userId, IdempotencyStore.Lease);
        }
    }
}
