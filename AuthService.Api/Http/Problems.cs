using AuthService.Api.Telephony;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AuthService.Api.Http;

/// <summary>An expected failure of an operation: becomes an RFC 9457 problem with a stable <c>code</c>.</summary>
public sealed record Problem(int Status, string Code, string Title, string Detail, int? RetryAfterSeconds = null)
{
    /// <summary>The problem answer; <see cref="RetryAfterHeaderFilter"/> turns <c>retryAfter</c> into the header.</summary>
    public ProblemHttpResult ToResult() => Problems.Result(Status, Code, Title, Detail, RetryAfterSeconds);
}

/// <summary>Every error answer of the API, in one place, so codes and wording stay stable.</summary>
public static class Problems
{
    public const string TypeBase = "https://authservice.dev/problems/";

    public static ProblemHttpResult Result(int status, string code, string title, string detail, int? retryAfterSeconds = null)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = code };
        if (retryAfterSeconds is { } seconds)
        {
            extensions["retryAfter"] = seconds;
        }

        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypeBase + code, extensions: extensions);
    }

    public static Problem Validation(string detail) => new(400, ProblemCodes.ValidationFailed, "The request is invalid.", detail);

    public static readonly Problem InvalidUserId = new(400, ProblemCodes.InvalidUserId, "The user id is invalid.",
        "userId must be 1–128 characters of A–Z, a–z, 0–9 and . _ : @ -, and not . or .. (dot segments).");

    public static readonly Problem InvalidCode = new(422, ProblemCodes.InvalidCode, "The code is not valid.",
        "The code is wrong, expired or has already been used.");

    public static readonly Problem NotEnabled = new(409, ProblemCodes.TwoFactorNotEnabled, "Two-factor authentication is not enabled.",
        "This user has no enabled second factor.");

    public static readonly Problem AlreadyEnabled = new(409, ProblemCodes.TwoFactorAlreadyEnabled, "Two-factor authentication is already enabled.",
        "Use switch-method to change the method.");

    public static readonly Problem NoPendingEnrollment = new(409, ProblemCodes.NoPendingEnrollment, "Nothing is waiting for confirmation.",
        "There is no pending enrollment, or it expired. Start again with enroll.");

    /// <summary>The portal's exact wording (DESIGN §1).</summary>
    public const string DailyLimitMessage = "You have exceeded the maximum number of allowed requests.";

    /// <summary>The portal's exact wording (DESIGN §1).</summary>
    public const string AttemptsLimitMessage =
        "You have exceeded the number of log in attempts allowed. Please wait a minute then try again.";

    public static Problem DailyLimit(int retryAfterSeconds) =>
        new(429, ProblemCodes.DailyLimitExceeded, "Too many code requests.", DailyLimitMessage, retryAfterSeconds);

    public static Problem TooManyAttempts(int retryAfterSeconds) =>
        new(429, ProblemCodes.TooManyAttempts, "Too many failed attempts.", AttemptsLimitMessage, retryAfterSeconds);

    /// <summary>Nothing was sent. A transient failure (503) says when to try again: 10 s, or until Telnyx's open circuit may close;
    /// a refusal (502: Telnyx rejected the request itself, e.g. its key or the number) will not pass on a retry.</summary>
    public static Problem TelephonyUnavailable(TelephonyUnavailableException failure) => failure.Transient
        ? new(503, ProblemCodes.TelephonyUnavailable, "The code could not be sent.",
            "The telephony provider did not accept the message. Nothing was sent; try again shortly.",
            CircuitWait.Seconds(failure.InnerException, TelephonyRetryAfterSeconds))
        : new(502, ProblemCodes.TelephonyUnavailable, "The code could not be sent.",
            "The telephony provider refused the message. Nothing was sent; a retry is refused the same way until the cause is fixed.");

    /// <summary>The Retry-After of a transient <c>telephony_unavailable</c> when the circuit is not what refused.</summary>
    public const int TelephonyRetryAfterSeconds = 10;

    /// <summary>A challenge by phone for a user without a phone factor, or naming a factor that is not a phone.</summary>
    public static readonly Problem NoPhoneToChallenge = new(409, ProblemCodes.NoChallengeForMethod, "No factor this channel can challenge.",
        "Codes are sent only to a phone factor: authenticator-app (TOTP) users read the code from their app.");

    /// <summary>Passkey options for a user without a passkey, or naming a factor that is not a passkey.</summary>
    public static readonly Problem NoPasskeyToChallenge = new(409, ProblemCodes.NoChallengeForMethod, "No factor this channel can challenge.",
        "Passkey options are issued only for a passkey factor.");

    public static readonly Problem NoPendingSwitch = new(409, ProblemCodes.NoPendingSwitch, "No method switch is waiting for confirmation.",
        "There is no pending switch, or it expired. Start again with switch-method.");

    /// <summary>The key is claimed by a request still in progress, or kept by one that failed after the provider took its
    /// message (until the claim lapses, a minute at most).</summary>
    public static Problem IdempotencyInProgress(int retryAfterSeconds) => new(409, ProblemCodes.IdempotencyKeyInUse,
        "A request with this Idempotency-Key is in progress.",
        "Wait for the first request with this key to finish, then retry. A key whose request failed after sending stays taken for up to a minute.",
        retryAfterSeconds);

    /// <summary>A keyed challenge whose steps before the send ran so long that its Idempotency-Key claim could lapse during the
    /// send, when a retry could send a second code: nothing was sent, and the key is released.</summary>
    /// <summary>A change proved by a code and sending one while another of the same user is in flight: each could send a text
    /// on the same proof before either spends it (<c>Storage/ChangeClaimStore</c>).</summary>
    public static readonly Problem ChangeInProgress = new(409, ProblemCodes.ChangeInProgress, "Another change is in progress.",
        "Another switch to a phone or phone addition of this user is being sent. Nothing was sent or spent; retry when it has finished.", 5);

    public static readonly Problem TooLateToSend = new(503, ProblemCodes.TelephonyUnavailable, "The code could not be sent.",
        "The request took too long to reach the provider safely. Nothing was sent; try again shortly.", 5);

    public static readonly Problem IdempotencyKeyReused = new(422, ProblemCodes.IdempotencyKeyReused,
        "This Idempotency-Key was used for another request.",
        "An Idempotency-Key answers only the request it was first sent with (same route, channel, purpose, API key and factor). Use a new key for a new request.");

    /// <summary>The factor a code, challenge, proof or pending switch was issued for is no longer the user's (it was switched,
    /// reset or replaced meanwhile): nothing was kept (DESIGN §9.1).</summary>
    public static readonly Problem FactorChanged = new(409, ProblemCodes.FactorChanged, "The second factor changed meanwhile.",
        "The user's second factor was switched or reset while this request was in progress, so nothing issued for the old factor was kept. Read the status and start again.");

    /// <summary>An enrollment or switch overtaken by a newer one of the same user, which stands: nothing of the older was kept,
    /// its proof not spent (DESIGN §9.1).</summary>
    public static readonly Problem PendingOvertaken = new(409, ProblemCodes.FactorChanged, "The second factor changed meanwhile.",
        "A newer enrollment or switch of this user started while this one was in progress: this one was not stored, and a proof it carried was not spent. Confirm the newer one, or start again.");

    public static readonly Problem FactorNotFound = new(404, ProblemCodes.FactorNotFound, "No such factor.",
        "The user has no factor (or pending factor) with this id. Read the status for the user's factors.");

    public static readonly Problem LastFactor = new(409, ProblemCodes.LastFactor, "The last factor cannot be removed.",
        "Two-factor authentication cannot be disabled by the user: add another factor first. Only a support reset removes every factor.");

    public static Problem FactorLimitReached(string method, int max) => new(409, ProblemCodes.FactorLimitReached, "Too many factors of this method.",
        $"A user may hold at most {max} {method} factors. Remove one first.");

    public static Problem BypassCodeLimitReached(int max) => new(409, ProblemCodes.BypassCodeLimitReached, "Too many live bypass codes.",
        $"A user may hold at most {max} live bypass codes. Revoke them or wait for some to expire.");

    public static readonly Problem SecretUnavailable = new(503, ProblemCodes.SecretUnavailable, "A stored secret cannot be opened.",
        "This instance cannot use the user's stored factor (its key is not in the key ring, or its TOTP algorithm is unknown). Retry shortly; other users are not affected.",
        5);

    public static readonly Problem Locked = new(423, ProblemCodes.Locked, "The second factor is locked.",
        "Too many failed attempts. Contact support to reset two-factor authentication.");
}
