using System.Text;
using AuthService.Core.Policy;
using AuthService.Core.Totp;

namespace AuthService.Tests.Core;

/// <summary>The one decision every proof takes (DESIGN §8.1), without a database: the gate first, the check only when it is
/// open, and every checked code either accepted or counted.</summary>
public class ProofDecisionsTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_015);
    private static readonly AttemptLimits Limits = new(AttemptsPerMinute: 5, LockoutThreshold: 100);
    private static readonly byte[] Secret = Encoding.ASCII.GetBytes("12345678901234567890");
    private static readonly TotpProfile Profile = new(TotpAlgorithm.Sha1, 6, 30);

    private static AttemptState Clean => new(false, [], 0);

    private static AttemptState WithFailures(int count, int consecutive) =>
        new(false, Enumerable.Range(0, count).Select(i => Now.AddSeconds(-50 + i)).ToList(), consecutive);

    private static string CodeAt(DateTimeOffset at) => TotpVerifier.Compute(Secret, Profile, at);

    /// <summary>A code that matches none of the steps the window around <see cref="Now"/> accepts.</summary>
    private static string WrongCode()
    {
        var window = new[] { -30, 0, 30 }.Select(s => CodeAt(Now.AddSeconds(s))).ToHashSet();
        return Enumerable.Range(0, 1000).Select(i => i.ToString("D6")).First(c => !window.Contains(c));
    }

    private static ProofDecision Totp(AttemptState state, string code, long lastStep = -1, Func<byte[]>? open = null) =>
        ProofDecisions.Totp(state, Limits, Now, open ?? (() => Secret), () => Profile, code, lastStep);

    [Test]
    public void A_right_code_is_accepted_with_its_step_and_resets_the_consecutive_count()
    {
        var decision = Totp(WithFailures(2, 7), CodeAt(Now.AddSeconds(30)));

        Assert.That(decision.Verdict, Is.EqualTo(ProofVerdict.Accepted));
        Assert.That(decision.Step, Is.EqualTo(Profile.StepAt(Now) + 1));
        Assert.That(decision.DriftSteps, Is.EqualTo(1));
        Assert.That(decision.Next.FailedConsecutive, Is.Zero);
        Assert.That(decision.Next.RecentFailures, Has.Count.EqualTo(2), "a success does not erase the minute's failures");
    }

    [Test]
    public void A_wrong_code_is_a_failure_that_moves_the_state()
    {
        var decision = Totp(WithFailures(1, 1), WrongCode());

        Assert.That(decision.Verdict, Is.EqualTo(ProofVerdict.Invalid));
        Assert.That(decision.IsFailure, Is.True);
        Assert.That(decision.FailureReason, Is.EqualTo("invalid_code"));
        Assert.That(decision.Next.RecentFailures, Has.Count.EqualTo(2));
        Assert.That(decision.Next.FailedConsecutive, Is.EqualTo(2));
        Assert.That(decision.LocksNow, Is.False);
    }

    [Test]
    public void A_code_of_a_step_already_used_is_a_replay_and_a_failure()
    {
        var step = Profile.StepAt(Now);

        var decision = Totp(Clean, CodeAt(Now), lastStep: step);

        Assert.That(decision.Verdict, Is.EqualTo(ProofVerdict.Replayed));
        Assert.That(decision.FailureReason, Is.EqualTo("replayed"));
        Assert.That(decision.Next.FailedConsecutive, Is.EqualTo(1));
    }

    [Test]
    public void While_limited_even_the_right_code_is_refused_unchecked_and_nothing_moves()
    {
        var opened = false;
        var state = WithFailures(5, 5);

        var decision = Totp(state, CodeAt(Now), open: () => { opened = true; return Secret; });

        Assert.That(decision.Verdict, Is.EqualTo(ProofVerdict.Limited));
        Assert.That(decision.IsFailure, Is.False, "a refused attempt is not a failure");
        Assert.That(decision.Next, Is.SameAs(state));
        Assert.That(decision.Limit.RetryAfterSeconds, Is.EqualTo(10), "the oldest of the five leaves the minute 10 s from now");
        Assert.That(opened, Is.False, "the secret is not even decrypted");
    }

    [Test]
    public void A_locked_factor_refuses_the_right_code_unchecked()
    {
        var opened = false;

        var decision = Totp(new AttemptState(true, [], 100), CodeAt(Now), open: () => { opened = true; return Secret; });

        Assert.That(decision.Verdict, Is.EqualTo(ProofVerdict.Locked));
        Assert.That(opened, Is.False);
    }

    [Test]
    public void The_failure_that_reaches_the_threshold_locks_and_only_that_one()
    {
        var reaching = ProofDecisions.AfterCheck(new AttemptState(false, [], 99), Limits, Now, accepted: false);
        var next = ProofDecisions.Gate(reaching.Next, Limits, Now.AddMinutes(5));

        Assert.That(reaching.LocksNow, Is.True);
        Assert.That(reaching.Next.Locked, Is.True);
        Assert.That(next?.Verdict, Is.EqualTo(ProofVerdict.Locked), "after it nothing is checked");
        Assert.That(ProofDecisions.AfterCheck(reaching.Next, Limits, Now, accepted: false).LocksNow, Is.False, "locks once");
    }

    [Test]
    public void The_gate_opens_again_when_the_oldest_failure_leaves_the_minute()
    {
        var state = WithFailures(5, 5);

        Assert.That(ProofDecisions.Gate(state, Limits, Now.AddSeconds(9))?.Verdict, Is.EqualTo(ProofVerdict.Limited));
        Assert.That(ProofDecisions.Gate(state, Limits, Now.AddSeconds(10)), Is.Null);
    }

    [Test]
    public void Decisions_in_a_row_count_exactly_to_the_limit()
    {
        var state = Clean;
        var verdicts = new List<ProofVerdict>();
        for (var i = 0; i < 8; i++)
        {
            var decision = Totp(state, WrongCode());
            verdicts.Add(decision.Verdict);
            state = decision.Next;
        }

        Assert.That(verdicts.Count(v => v == ProofVerdict.Invalid), Is.EqualTo(5));
        Assert.That(verdicts.Skip(5), Is.All.EqualTo(ProofVerdict.Limited));
        Assert.That(state.FailedConsecutive, Is.EqualTo(5), "refused attempts do not count towards the lockout");
    }
}
