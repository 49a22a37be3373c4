using AuthService.Core.Totp;

namespace AuthService.Core.Policy;

/// <summary>What became of one attempt to prove a factor.</summary>
public enum ProofVerdict
{
    /// <summary>Right, and not used before: accept it (and record the step, for TOTP).</summary>
    Accepted,

    /// <summary>Right for a step already used (RFC 6238 §5.2): a failure, audited as a replay.</summary>
    Replayed,

    /// <summary>Wrong, expired or used up: a failure.</summary>
    Invalid,

    /// <summary>Refused before anything was checked: the per-minute limit is reached (audited, not a failure).</summary>
    Limited,

    /// <summary>Refused before anything was checked: the factor is locked.</summary>
    Locked,
}

/// <summary>The outcome of one attempt under DESIGN §8.1, and the user's attempt state after it. A failure carries
/// <see cref="LocksNow"/> when it reaches the lockout threshold; a limited attempt its Retry-After.</summary>
public readonly record struct ProofDecision(ProofVerdict Verdict, AttemptState Next, bool LocksNow = false, LimitCheck Limit = default,
    long Step = -1, int DriftSteps = 0)
{
    public bool IsAccepted => Verdict == ProofVerdict.Accepted;

    /// <summary>A checked code that was not accepted: it counts against the limits.</summary>
    public bool IsFailure => Verdict is ProofVerdict.Invalid or ProofVerdict.Replayed;

    /// <summary>The reason written to the audit trail for a failure.</summary>
    public string FailureReason => Verdict == ProofVerdict.Replayed ? "replayed" : "invalid_code";
}

/// <summary>One TOTP factor a code may be checked against: its secret and profile (read only once the gate is open) and the
/// last step it accepted.</summary>
public readonly record struct TotpCandidate(Func<byte[]> OpenSecret, Func<TotpProfile> Profile, long LastAcceptedStep);

/// <summary>The one decision every proof takes (TOTP, phone code, backup code, passkey; login, switch, confirmation):
/// the gate of <see cref="AttemptRules"/> first — nothing is checked when locked or limited — then the check, whose outcome
/// moves the attempt state. Callers hold the user's lock from reading <see cref="AttemptState"/> to recording the decision.
/// Pure: the check that needs storage (a phone code, a backup code) is done by the caller between <see cref="Gate"/> and
/// <see cref="AfterCheck"/>.</summary>
public static class ProofDecisions
{
    /// <summary>Null when the code may be checked; otherwise the decision that refuses it unchecked.</summary>
    public static ProofDecision? Gate(AttemptState state, AttemptLimits limits, DateTimeOffset now)
    {
        var (gate, limit) = AttemptRules.Check(state, limits, now);
        return gate switch
        {
            AttemptGate.Locked => new ProofDecision(ProofVerdict.Locked, state),
            AttemptGate.Limited => new ProofDecision(ProofVerdict.Limited, state, Limit: limit),
            _ => null,
        };
    }

    /// <summary>The decision once a code passed the gate and was checked.</summary>
    public static ProofDecision AfterCheck(AttemptState state, AttemptLimits limits, DateTimeOffset now, bool accepted, bool replayed = false,
        long step = -1, int driftSteps = 0)
    {
        if (accepted)
        {
            return new ProofDecision(ProofVerdict.Accepted, AttemptRules.AfterSuccess(state), Step: step, DriftSteps: driftSteps);
        }

        var (next, locksNow) = AttemptRules.AfterFailure(state, limits, now);
        return new ProofDecision(replayed ? ProofVerdict.Replayed : ProofVerdict.Invalid, next, locksNow);
    }

    /// <summary>A TOTP code against the factor's secret: gate, then one pass of <see cref="TotpVerifier.Verify(byte[], TotpProfile, string?, DateTimeOffset, long)"/>
    /// over the steps after <paramref name="lastAcceptedStep"/>. <paramref name="openSecret"/> and <paramref name="profile"/> are
    /// called only when the gate is open, so a locked or limited user's secret is never even decrypted, and a stored factor
    /// the caller cannot read (their exceptions) is refused by the gate like any other attempt once the limit is reached.</summary>
    public static ProofDecision Totp(AttemptState state, AttemptLimits limits, DateTimeOffset now, Func<byte[]> openSecret, Func<TotpProfile> profile,
        string? code, long lastAcceptedStep) =>
        TotpAny(state, limits, now, [new TotpCandidate(openSecret, profile, lastAcceptedStep)], code).Decision;

    /// <summary>A TOTP code against each of the user's TOTP factors (DESIGN §9.2), each with its own replay guard: one gate, one
    /// evaluation — a burst spread over several factors is limited like any other — accepted by the first factor it matches
    /// (<c>Matched</c>, its index; -1 when none), a replay when it matches none but was right for a used step of one.</summary>
    public static (ProofDecision Decision, int Matched) TotpAny(AttemptState state, AttemptLimits limits, DateTimeOffset now,
        IReadOnlyList<TotpCandidate> factors, string? code)
    {
        if (Gate(state, limits, now) is { } refused)
        {
            return (refused, -1);
        }

        var replayed = false;
        for (var i = 0; i < factors.Count; i++)
        {
            var factor = factors[i];
            var check = TotpVerifier.Verify(factor.OpenSecret(), factor.Profile(), code, now, factor.LastAcceptedStep);
            if (check.Accepted)
            {
                return (AfterCheck(state, limits, now, accepted: true, step: check.Step, driftSteps: check.DriftSteps), i);
            }

            replayed |= check.Replayed;
        }

        return (AfterCheck(state, limits, now, accepted: false, replayed), -1);
    }
}
