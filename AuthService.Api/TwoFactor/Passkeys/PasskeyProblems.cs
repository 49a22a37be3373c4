using AuthService.Api.Http;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>The problems only the passkey method answers with. A refused credential or assertion counts as a failed
/// verification (per-minute limit and lockout) like a wrong code.</summary>
public static class PasskeyProblems
{
    public static readonly Problem NotConfigured = new(409, ProblemCodes.PasskeysNotConfigured, "Passkeys are not available.",
        "This AuthService has no WebAuthn relying party configured (Passkeys:RelyingPartyId, Passkeys:Origins).");

    public static readonly Problem NotPasskeyUser = new(409, ProblemCodes.PasskeyNotEnabled, "The user's second factor is not a passkey.",
        "Verify with a code of the user's method, or a backup code.");

    /// <summary>Unknown, already used, expired, or issued for another enrollment: one answer, the fix is the same.</summary>
    public static readonly Problem ChallengeInvalid = new(422, ProblemCodes.PasskeyChallengeInvalid, "The passkey challenge is not valid.",
        "The challenge is unknown, expired or already used. Request new options and try again.");

    /// <summary>Wrong origin or RP ID, unknown credential, bad signature, malformed data: telling these apart helps
    /// nobody but an attacker; the audit trail keeps the reason.</summary>
    public static readonly Problem InvalidCredential = new(422, ProblemCodes.InvalidPasskey, "The passkey response is not valid.",
        "The credential was not made for this site, is not registered for this user, or its signature does not verify.");

    public static readonly Problem CounterRegression = new(422, ProblemCodes.PasskeyCounterRegression, "The passkey may have been cloned.",
        "The authenticator's signature counter went backwards. The assertion was refused and the event audited.");

    public static Problem Shape(string detail) => Problems.Validation(detail);
}
