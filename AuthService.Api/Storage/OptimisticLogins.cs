using Npgsql;

namespace AuthService.Api.Storage;

/// <summary>The two statements of the optimistic TOTP login (a snapshot read, then the conditional accept), each
/// coalesced across concurrent logins: under load, N logins cost two round trips in all instead of 2 × N, and the
/// accepts of a batch share one commit. Every rule still rests on the accept statement alone (a step is taken only if
/// later than every accepted one and the factor is not locked), so batching changes how statements travel, not what
/// they decide. A caller that gets null takes the locked path, which decides again under the user's lock.</summary>
public sealed class OptimisticLogins : IDisposable
{
    private const int MaxBatch = 64;

    private readonly NpgsqlDataSource _dataSource;
    private readonly Coalescer<Read, FactorRow?> _reads;
    private readonly Coalescer<Accept, int?> _accepts;

    public OptimisticLogins(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        _reads = new Coalescer<Read, FactorRow?>(ReadBatchAsync, MaxBatch, workers: 2);
        _accepts = new Coalescer<Accept, int?>(AcceptBatchAsync, MaxBatch, workers: 2);
    }

    public sealed record Read(string UserId, DateTimeOffset FailuresSince);

    public sealed record Accept(string UserId, long Step, DateTimeOffset Now, Guid? ApiKeyId, string AuditDetails);

    /// <summary>The user's factor with <see cref="FactorRow.RecentFailures"/> since <see cref="Read.FailuresSince"/>,
    /// or null without a factor.</summary>
    public Task<FactorRow?> ReadAsync(Read read) => Queue(_reads, read);

    /// <summary>The unused backup-code count when the step was accepted; null when it was not (already used or locked).</summary>
    public Task<int?> AcceptAsync(Accept accept) => Queue(_accepts, accept);

    /// <summary>A full queue means the database is far behind: answer 503 now (as a pool timeout would) rather than
    /// let requests pile up in memory.</summary>
    private static Task<TResult> Queue<TItem, TResult>(Coalescer<TItem, TResult> coalescer, TItem item) =>
        coalescer.TryRun(item, out var result)
            ? result
            : throw new NpgsqlException("Too many logins are waiting for the database; retry shortly.");

    private async Task<IReadOnlyList<FactorRow?>> ReadBatchAsync(IReadOnlyList<Read> reads)
    {
        var since = reads.Min(r => r.FailuresSince);
        await using var connection = await _dataSource.OpenConnectionAsync();
        var factors = (await TwoFactorStore.GetFactorsWithFailuresAsync(connection, reads.Select(r => r.UserId).Distinct().ToArray(), since))
            .ToDictionary(f => f.UserId, StringComparer.Ordinal);
        return reads.Select(r => factors.GetValueOrDefault(r.UserId) is { } factor
                ? factor with { RecentFailures = factor.RecentFailures?.Where(f => TwoFactorStore.Utc(f) > r.FailuresSince).ToArray() }
                : null)
            .ToList();
    }

    private async Task<IReadOnlyList<int?>> AcceptBatchAsync(IReadOnlyList<Accept> accepts)
    {
        // Rows are locked in user-id order, so batches of several workers or instances wait for each other but never
        // deadlock. Two accepts of one user in a batch run one after the other in its transaction: the second sees the
        // first's step and answers null, as it would in separate transactions.
        var order = accepts.Select((accept, index) => (accept, index)).OrderBy(a => a.accept.UserId, StringComparer.Ordinal).ToList();
        var results = new int?[accepts.Count];
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection); // no explicit transaction: one implicit one, one commit
        foreach (var (a, _) in order)
        {
            batch.BatchCommands.Add(TwoFactorStore.AcceptTotpStepCommand(a.UserId, a.Step, a.Now, a.ApiKeyId, a.AuditDetails));
        }

        await using var reader = await batch.ExecuteReaderAsync();
        foreach (var (_, index) in order)
        {
            results[index] = await reader.ReadAsync() ? reader.GetInt32(0) : null;
            await reader.NextResultAsync();
        }

        return results;
    }

    public void Dispose()
    {
        _reads.Dispose();
        _accepts.Dispose();
    }
}
