using System.Diagnostics;
using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Observability;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using Microsoft.Extensions.Options;
using AuthService.Api.TwoFactor.Methods.Totp;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>The one path that checks a proof of the current factor — a login (<c>verify</c>), the proof of a switch or of
/// new backup codes — and the one place that turns a <see cref="ProofDecision"/> into its answer and its rows.
/// A TOTP code is decided here in a coalesced batch: one transaction locks every user in it and reads their factors and
/// recent failures (one round trip), each attempt is decided in arrival order by <see cref="ProofDecisions.TotpAny"/> (against each of the user's TOTP factors), and
/// every outcome is written and committed in a second round trip. So each code checked against a secret is accepted or
/// counted in the same locked step that checked the limit and the lockout (DESIGN §8.1), and under load N logins share two
/// round trips and one commit. Phone codes, backup codes, passkey assertions and the proofs of changes take the single-user
/// path (<c>CodeProofs</c> through <c>ProofCheck.Pipeline.cs</c>) under the same lock and the same decision; a proof of a change is checked there and spent
/// by the change itself (<see cref="SpendAsync"/>).</summary>
public sealed partial class ProofCheck : IDisposable
{
    private const int MaxBatch = 64;

    // Batches in flight at once (each holds a pooled connection). While one waits for its durable commit, the other locks,
    // reads and decides the logins that queued meanwhile, once there are enough of them (MinConcurrentBatch). Measured in the same bench rounds against the pre-issue-12 build
    // (durable PostgreSQL, docs/SCALING.md): 2 workers 1.07× its throughput, 4 workers 0.91×, 8 workers 0.88× — more
    // workers make smaller batches, so more commits (and PostgreSQL CPU) per login.
    private const int Workers = 2;

    // While one batch is in flight, the other worker starts a second only once this many logins wait for it; fewer wait
    // for the batch in flight to end and go in the next. Issue 27 (docs/SCALING.md, same-run pairs with both sides swapped):
    // 0.07 writing transactions per verify instead of 0.11, PostgreSQL's CPU per verify 0.82× and the service's 0.90×,
    // throughput 1.09×. One worker alone (tried) made batches as large but left the cores idle while it waited for its commit.
    private const int MinConcurrentBatch = 16;

    private readonly NpgsqlDataSource _dataSource;
    private readonly SecretBox _secrets;
    private readonly TimeProvider _time;
    private readonly ILogger<ProofCheck> _logger;
    private readonly Coalescer<TotpAttempt, Result<VerifyResponse>?> _totpLogins;

    public ProofCheck(NpgsqlDataSource dataSource, SecretBox secrets, TimeProvider time, IOptions<LimitsOptions> limits, ILogger<ProofCheck> logger)
    {
        _dataSource = dataSource;
        _secrets = secrets;
        _time = time;
        _logger = logger;
        Limits = new AttemptLimits(limits.Value.AttemptsPerMinute, limits.Value.LockoutThreshold);
        _totpLogins = new Coalescer<TotpAttempt, Result<VerifyResponse>?>(DecideTotpBatchAsync, MaxBatch, workers: Workers,
            onBatch: (size, waiting) =>
            {
                ServiceMetrics.LoginBatchSize.Observe(size);
                ServiceMetrics.LoginQueue.Set(waiting);
            }, minConcurrentBatch: MinConcurrentBatch, failsQueue: StoppedAnswering);
    }

    public AttemptLimits Limits { get; }

    /// <summary>A batch failed because PostgreSQL did not answer in time: a connect or command timeout, or no pooled connection
    /// free within the connect timeout (an <see cref="NpgsqlException"/> over a <see cref="TimeoutException"/>). The logins
    /// waiting behind it would each wait out the same timeout in a batch of their own, two batches at a time: they fail with it
    /// at once (<see cref="Coalescer{TItem,TResult}"/>), each answered 503 as the batch's are. Any other failure (a refused or
    /// broken connection, a terminated session, a deadlock) fails only its batch: the next one may well succeed on a fresh
    /// connection, and a refused connection fails fast anyway.</summary>
    internal static bool StoppedAnswering(Exception e) => e is NpgsqlException and not PostgresException && e.InnerException is TimeoutException;

    /// <summary>A TOTP login code joins the coalesced batch: its answer, or null when the user takes the single-user path (no TOTP
    /// factor, or a phone factor whose code it may be). <paramref name="newDevice"/>: the login came without a live device token, so
    /// its acceptance writes <c>new_device_login</c> in the batch's commit (a login that remembers its browser never comes here). A full queue means the database is far behind: 503 at once (as a pool
    /// timeout would), not requests piling up.</summary>
    public Task<Result<VerifyResponse>?> TryBatchLoginAsync(string userId, string code, string stage, Guid? actor, bool newDevice) =>
        _totpLogins.TryRun(new TotpAttempt(userId, code, stage, actor, _time.GetUtcNow(), newDevice, Activity.Current, EventProfile.Current),
            out var decided)
            ? decided
            : throw new NpgsqlException("Too many logins are waiting for the database; retry shortly.");

    /// <param name="Request">The login's request activity: a line the batch logs for this attempt carries its trace id (<c>@tr</c>).</param>
    /// <param name="Profile">The verify profile the login's request ran under (<see cref="EventProfile"/>): the events the batch
    /// writes for this attempt carry it, as the single-user path's do (DESIGN §9.5).</param>
    internal sealed record TotpAttempt(string UserId, string Code, string Stage, Guid? Actor, DateTimeOffset Now, bool NewDevice,
        Activity? Request, string? Profile);

    /// <summary>While it lives, <see cref="Activity.Current"/> is the request an attempt of a batch came from, so what is logged for
    /// that attempt (a lockout, a secret this instance cannot open) carries the request's trace id like a line the request writes
    /// itself (docs/OPERATIONS.md). Only on those two paths: an accepted login logs nothing here.</summary>
    private readonly struct RequestTrace : IDisposable
    {
        private readonly Activity? _outer;

        public RequestTrace(Activity? request)
        {
            _outer = Activity.Current;
            Activity.Current = request;
        }

        public void Dispose() => Activity.Current = _outer;
    }

    /// <summary>409 <c>last_factor</c> when the factor a removal removes (<paramref name="excluded"/>) is, by now, the user's last:
    /// the other's removal committed since the request read the user, and the request would have answered this after it. Checked
    /// under the user's lock before a proof is tried (by a code or a passkey), so a right proof is not counted as a failed
    /// attempt.</summary>
    public static Problem? RemovesLastFactor(UserFactors user, Guid? excluded) =>
        excluded is { } removed && user.Factors.All(f => f.FactorId == removed) ? Problems.LastFactor : null;

    /// <summary>Which challenges a stage may use: a login only login codes and assertions, every other stage only proofs.</summary>
    public static string PurposeOf(string stage) => stage == TwoFactorApi.LoginStage ? ChallengePurposes.Login : ChallengePurposes.Proof;

    /// <summary>One batch of TOTP attempts; null for a user without a TOTP factor, or with a phone factor whose code it may be
    /// (the caller takes the single-user path).</summary>
    internal async Task<IReadOnlyList<Result<VerifyResponse>?>> DecideTotpBatchAsync(IReadOnlyList<TotpAttempt> attempts)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        var users = await AttemptLedger.BeginLockAndLoadManyAsync(connection, attempts.Select(a => a.UserId).ToList(),
            attempts.Min(a => a.Now) - AttemptLimits.Window);
        var results = new Result<VerifyResponse>?[attempts.Count];
        var accepted = new Dictionary<int, (int DriftSteps, Guid FactorId)>();
        var writes = new List<NpgsqlBatchCommand>();
        // Acceptances go out as sets (one statement each), in arrival order with the other writes: a set is closed before a
        // refusal's rows, or when its user comes again (a set holds each user once), so every statement sees what the ones
        // before it in arrival order wrote, as one statement per login did.
        var acceptances = new List<AttemptLedger.TotpAcceptanceRow>();
        var acceptanceCommands = 0;
        void CloseAcceptances()
        {
            if (acceptances.Count > 0)
            {
                writes.Add(AttemptLedger.AcceptTotpStepsCommand(acceptances));
                acceptances = [];
                acceptanceCommands++;
            }
        }

        var states = new Dictionary<string, (AttemptState Attempts, Dictionary<Guid, long> LastSteps)>(StringComparer.Ordinal);
        for (var i = 0; i < attempts.Count; i++)
        {
            var attempt = attempts[i];
            if (!string.Equals(EventProfile.Current, attempt.Profile, StringComparison.Ordinal))
            {
                // Every row this attempt writes is made in this iteration (an acceptance's events too, see TotpAcceptanceRow),
                // so it is stamped with the profile of its own request. Set only on a change: a batch's logins mostly share one.
                EventProfile.Current = attempt.Profile;
            }

            if (!users.TryGetValue(attempt.UserId, out var loaded))
            {
                results[i] = Problems.NotEnabled;
                continue;
            }

            var (user, recentFailures) = loaded;
            var totp = user.OfMethod(FactorMethods.Totp).ToList();
            if (totp.Count == 0 || user.Factors.Any(f => f.Method is not (FactorMethods.Totp or FactorMethods.Passkey)))
            {
                continue; // null: the single-user path (the code may be one of another method: CodeProofs tries each)
            }

            var (state, lastSteps) = states.TryGetValue(attempt.UserId, out var known)
                ? known
                : (StateOf(user, recentFailures), totp.ToDictionary(f => f.FactorId, f => f.LastTotpStep));
            ProofDecision decision;
            int matched;
            try
            {
                (decision, matched) = ProofDecisions.TotpAny(state, Limits, attempt.Now, TotpMethod.Candidates(_secrets, totp, lastSteps), attempt.Code);
            }
            catch (Exception e) when (StoredFactors.IsUnreadable(e))
            {
                // This login alone fails: the batch's other logins are decided and committed as usual. It counts in the
                // per-minute window (not the lockout), for this user's later attempts in the batch too.
                CloseAcceptances();
                using var trace = new RequestTrace(attempt.Request);
                results[i] = Unreadable(attempt.UserId, FactorMethods.Totp, attempt.Stage, attempt.Now, attempt.Actor, e, writes);
                states[attempt.UserId] = (state with { RecentFailures = [.. state.RecentFailures, attempt.Now] }, lastSteps);
                continue;
            }

            states[attempt.UserId] = (decision.Next, lastSteps);
            if (decision.IsAccepted)
            {
                var factor = totp[matched];
                lastSteps[factor.FactorId] = decision.Step;
                if (acceptances.Any(a => a.Acceptance.UserId == attempt.UserId))
                {
                    CloseAcceptances();
                }

                // A login from a new device writes new_device_login in the acceptance's own statement, only if it accepts.
                acceptances.Add(new AttemptLedger.TotpAcceptanceRow(i,
                    TotpMethod.Acceptance(Limits, factor, decision, attempt.Stage, attempt.Now, attempt.Actor),
                    attempt.NewDevice ? new AuditEvent.NewDeviceLogin(FactorMethods.Totp, factor.FactorId) : null));
                accepted.Add(i, (decision.DriftSteps, factor.FactorId));
                continue;
            }

            CloseAcceptances();
            using (new RequestTrace(attempt.Request))
            {
                results[i] = Refuse(decision, attempt.UserId, hasFactor: true, FactorMethods.Totp, attempt.Stage, attempt.Now, attempt.Actor, writes);
            }
        }

        CloseAcceptances();
        EventProfile.Current = null; // the worker's next batch starts as this one did

        // The writes and the commit travel together: an acceptance is answered only once it is durable.
        await using var reader = await AttemptLedger.WriteAndCommitAsync(connection, writes);
        for (var set = 0; set < acceptanceCommands; set++)
        {
            // Only the sets of acceptances return rows, one result set each, in order: (ordinal, remaining backup codes) per
            // acceptance taken.
            while (await reader.ReadAsync())
            {
                var index = reader.GetInt32(0);
                var (drift, factorId) = accepted[index];
                results[index] = new VerifyResponse(true, FactorMethods.Totp, reader.GetInt32(1), drift, factorId);
            }

            await reader.NextResultAsync();
        }

        while (await reader.NextResultAsync())
        {
            // through the commit: an error there fails the whole batch, acceptances included
        }

        foreach (var index in accepted.Keys)
        {
            // No row: the statement refused the step (the factor was reset in between; a reset takes the lock too, so only
            // between batches; kept as a guard).
            results[index] ??= Problems.InvalidCode;
            ServiceMetrics.Verifications.WithLabels(FactorMethods.Totp, results[index]!.Value.Error?.Code ?? "success").Inc();
        }

        return results;
    }

    internal static AttemptState StateOf(UserFactors? user, IReadOnlyList<DateTimeOffset> recentFailures) =>
        new(user?.Locked == true, recentFailures, user?.FailedConsecutive ?? 0);

    /// <summary>The answer to an attempt that was not accepted, and its rows (appended to <paramref name="writes"/>): locked →
    /// nothing; limited → an audit event; a failure → the ledger, the consecutive count and, at the threshold, the lock
    /// (NIST SP 800-63B §5.2.2). A failure answers <paramref name="shown"/> (a method's own refusal, e.g. <c>invalid_passkey</c>)
    /// or <c>invalid_code</c>, and <c>locked</c> when it locks the factor.</summary>
    internal Problem Refuse(ProofDecision decision, string userId, bool hasFactor, string method, string stage, DateTimeOffset now, Guid? actor,
        List<NpgsqlBatchCommand> writes, string? reason = null, Problem? shown = null, Guid? factorId = null)
    {
        switch (decision.Verdict)
        {
            case ProofVerdict.Locked:
                return Problems.Locked;
            case ProofVerdict.Limited:
                writes.Add(AttemptLedger.RateLimited(userId, now, actor));
                ServiceMetrics.LimitHits.WithLabels("attempts_per_minute").Inc();
                return Problems.TooManyAttempts(decision.Limit.RetryAfterSeconds);
        }

        var locksNow = hasFactor && decision.LocksNow;
        writes.AddRange(AttemptLedger.Failure(userId, hasFactor, Limits.LockoutThreshold, locksNow, decision.Next.FailedConsecutive, now, actor,
            new AuditEvent.VerificationFailed(method, stage, reason ?? decision.FailureReason, factorId)));
        var answer = locksNow ? Problems.Locked : shown ?? Problems.InvalidCode;
        ServiceMetrics.Verifications.WithLabels(method, answer.Code).Inc();
        if (locksNow)
        {
            _logger.LogWarning("Locked the second factor of {UserId} after {Failures} consecutive failures", userId, decision.Next.FailedConsecutive);
            ServiceMetrics.Lockouts.Inc();
        }

        return answer;
    }

    /// <summary>A proof of <paramref name="method"/> this instance cannot check (<see cref="StoredFactors.IsUnreadable"/>): 503
    /// <c>secret_unavailable</c> for that attempt alone, and its rows (<see cref="AttemptLedger.Unreadable"/>): counted in the
    /// per-minute ledger, so it cannot be repeated faster than any wrong code.</summary>
    internal Problem Unreadable(string userId, string method, string stage, DateTimeOffset now, Guid? actor, Exception e, List<NpgsqlBatchCommand> writes)
    {
        writes.AddRange(AttemptLedger.Unreadable(userId, now, actor, new AuditEvent.VerificationError(method, stage, ProblemCodes.SecretUnavailable)));
        _logger.LogError("Could not check a {Method} proof of {UserId} on this instance: {Reason}", method, userId, e.Message);
        ServiceMetrics.Verifications.WithLabels(method, ProblemCodes.SecretUnavailable).Inc();
        return Problems.SecretUnavailable;
    }

    /// <summary><see cref="Refuse"/>, written at once in <paramref name="transaction"/> (one round trip).</summary>
    internal async Task<Problem> RefuseAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ProofDecision decision, string userId,
        bool hasFactor, string method, string stage, DateTimeOffset now, Guid? actor, string? reason = null, Problem? shown = null, Guid? factorId = null)
    {
        var writes = new List<NpgsqlBatchCommand>();
        var answer = Refuse(decision, userId, hasFactor, method, stage, now, actor, writes, reason, shown, factorId);
        await AttemptLedger.ExecuteAsync(connection, transaction, writes);
        return answer;
    }

    public void Dispose() => _totpLogins.Dispose();
}
