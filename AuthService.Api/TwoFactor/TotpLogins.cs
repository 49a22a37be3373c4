using System.Text.Json;
using AuthService.Api.Configuration;
using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using AuthService.Core.Totp;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>TOTP logins (and TOTP proofs of a switch), coalesced across concurrent requests. A batch is one transaction:
/// lock every user in it and read their factors and recent failures (one round trip), decide each attempt in arrival
/// order with <see cref="AttemptRules"/> — exactly as the general proof path decides under the lock — and write every
/// outcome (one round trip and one commit). So each code checked against a secret is accepted or counted as a failure in
/// the same locked step that checked the limit and the lockout (DESIGN §8.1), and under load N logins still share two round
/// trips and one commit. Users whose factor is not TOTP get null: the caller takes the general path.</summary>
public sealed class TotpLogins : IDisposable
{
    private const int MaxBatch = 64;

    // Batches in flight at once (each holds a pooled connection). A batch waits for its durable commit; more of them keep
    // PostgreSQL busy meanwhile.
    private const int Workers = 4;

    private readonly NpgsqlDataSource _dataSource;
    private readonly SecretBox _secrets;
    private readonly AttemptLimits _limits;
    private readonly ILogger<TotpLogins> _logger;
    private readonly Coalescer<Attempt, Result<VerifyResponse>?> _attempts;

    public TotpLogins(NpgsqlDataSource dataSource, SecretBox secrets, IOptions<LimitsOptions> limits, ILogger<TotpLogins> logger)
    {
        _dataSource = dataSource;
        _secrets = secrets;
        _limits = new AttemptLimits(limits.Value.AttemptsPerMinute, limits.Value.LockoutThreshold);
        _logger = logger;
        _attempts = new Coalescer<Attempt, Result<VerifyResponse>?>(RunAsync, MaxBatch, workers: Workers);
    }

    public sealed record Attempt(string UserId, string Code, string Stage, Guid? Actor, DateTimeOffset Now);

    /// <summary>The answer to one TOTP attempt, or null when the user's factor is not TOTP. A full queue means the database
    /// is far behind: it answers 503 at once (as a pool timeout would) rather than let requests pile up in memory.</summary>
    public Task<Result<VerifyResponse>?> VerifyAsync(Attempt attempt) =>
        _attempts.TryRun(attempt, out var result)
            ? result
            : throw new NpgsqlException("Too many logins are waiting for the database; retry shortly.");

    private sealed class UserState(FactorRow factor, AttemptState attempts)
    {
        public FactorRow Factor { get; } = factor;
        public AttemptState Attempts { get; set; } = attempts;
        public long LastStep { get; set; } = factor.LastTotpStep;
    }

    private async Task<IReadOnlyList<Result<VerifyResponse>?>> RunAsync(IReadOnlyList<Attempt> attempts)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var factors = await TwoFactorStore.LockAndLoadManyAsync(connection, transaction, attempts.Select(a => a.UserId).ToList(),
            attempts.Min(a => a.Now) - AttemptLimits.Window);

        var results = new Result<VerifyResponse>?[attempts.Count];
        var accepted = new List<(int Index, int DriftSteps)>();
        var failures = new List<(int Index, string Reason)>();
        await using var writes = new NpgsqlBatch(connection, transaction);
        var states = new Dictionary<string, UserState>(StringComparer.Ordinal);
        for (var i = 0; i < attempts.Count; i++)
        {
            var attempt = attempts[i];
            if (!factors.TryGetValue(attempt.UserId, out var factor))
            {
                results[i] = Problems.NotEnabled;
                continue;
            }

            if (factor.Method != TwoFactorService.Totp)
            {
                results[i] = null;
                continue;
            }

            if (!states.TryGetValue(attempt.UserId, out var state))
            {
                state = new UserState(factor, new AttemptState(factor.LockedAt is not null,
                    (factor.RecentFailures ?? []).Select(TwoFactorStore.Utc).ToList(), factor.FailedConsecutive));
                states[attempt.UserId] = state;
            }

            var (gate, limit) = AttemptRules.Check(state.Attempts, _limits, attempt.Now);
            if (gate == AttemptGate.Locked)
            {
                results[i] = Problems.Locked;
                continue;
            }

            if (gate == AttemptGate.Limited)
            {
                writes.BatchCommands.Add(AttemptStore.RateLimited(attempt.UserId, attempt.Now, attempt.Actor));
                ServiceMetrics.LimitHits.WithLabels("attempts_per_minute").Inc();
                results[i] = Problems.TooManyAttempts(limit.RetryAfterSeconds);
                continue;
            }

            var (check, replayed) = TotpVerifier.CheckLogin(TwoFactorService.OpenTotpSecret(_secrets, factor), TwoFactorService.ProfileOf(factor),
                attempt.Code, attempt.Now, state.LastStep);
            if (check.Accepted)
            {
                writes.BatchCommands.Add(TwoFactorStore.AcceptTotpStepCommand(
                    TwoFactorService.Acceptance(factor, check, attempt.Stage, attempt.Now, _limits.AttemptsPerMinute, attempt.Actor)));
                accepted.Add((i, check.DriftSteps));
                state.LastStep = check.Step;
                state.Attempts = AttemptRules.AfterSuccess(state.Attempts);
                continue;
            }

            var reason = replayed ? "replayed" : "invalid_code";
            var (next, locksNow) = AttemptRules.AfterFailure(state.Attempts, _limits, attempt.Now);
            foreach (var command in AttemptStore.Failure(attempt.UserId, hasFactor: true, _limits.LockoutThreshold, locksNow,
                         next.FailedConsecutive, attempt.Now, attempt.Actor, new { method = TwoFactorService.Totp, stage = attempt.Stage, reason }))
            {
                writes.BatchCommands.Add(command);
            }

            state.Attempts = next;
            results[i] = locksNow ? Problems.Locked : Problems.InvalidCode;
            failures.Add((i, reason));
            if (locksNow)
            {
                _logger.LogWarning("Locked the second factor of {UserId} after {Failures} consecutive failures", attempt.UserId,
                    next.FailedConsecutive);
            }
        }

        if (writes.BatchCommands.Count > 0)
        {
            // Only the acceptances return rows (the remaining backup codes): one result set each, in order.
            await using var reader = await writes.ExecuteReaderAsync();
            foreach (var (index, drift) in accepted)
            {
                results[index] = await reader.ReadAsync()
                    ? new VerifyResponse(true, TwoFactorService.Totp, reader.GetInt32(0), drift)
                    : Problems.InvalidCode; // the factor was reset in between (a reset does not take the user's lock)
                await reader.NextResultAsync();
            }
        }

        await transaction.CommitAsync();
        foreach (var (index, _) in accepted)
        {
            ServiceMetrics.Verifications.WithLabels(TwoFactorService.Totp, results[index]!.Value.Error is null ? "success" : "invalid_code").Inc();
        }

        foreach (var (index, _) in failures)
        {
            ServiceMetrics.Verifications.WithLabels(TwoFactorService.Totp, results[index]!.Value.Error!.Code).Inc();
            if (results[index]!.Value.Error == Problems.Locked)
            {
                ServiceMetrics.Lockouts.Inc();
            }
        }

        return results;
    }

    public void Dispose() => _attempts.Dispose();
}
