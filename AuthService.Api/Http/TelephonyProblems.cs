namespace AuthService.Api.Http;

/// <summary>The answers of the telephony abuse and cost controls (DESIGN §8.2) and of a send whose outcome is unknown.</summary>
public static class TelephonyProblems
{
    public const string DestinationNotAllowedCode = ProblemCodes.DestinationNotAllowed;
    public const string CappedCode = ProblemCodes.TelephonyCapped;
    public const string OutcomeUnknownCode = ProblemCodes.TelephonyOutcomeUnknown;

    /// <summary>400: the number's type (premium-rate, satellite, …) or country is not accepted on this channel. Nothing
    /// was sent or counted.</summary>
    public static Problem DestinationNotAllowed(string channel, string why) => new(400, DestinationNotAllowedCode,
        "Codes cannot be sent to this number.",
        $"This number cannot receive codes by {channel}: {why}. Use a mobile or landline number of a supported country.");

    /// <summary>503: a deployment-wide cap on code deliveries is reached (an operator is alerted). Nothing was sent.</summary>
    public static Problem Capped(int retryAfterSeconds) => new(503, CappedCode, "Code deliveries are paused.",
        "The service has reached its limit of code deliveries for now. Nothing was sent; try again later or use another method.",
        retryAfterSeconds);

    /// <summary>502: the provider may have taken the message before the connection failed or timed out. It is not resent and
    /// it counts against the budgets; the code it carries, kept, works if it arrives within the <paramref name="validityMinutes"/>
    /// of the verify profile it was sent under (DESIGN §9.5: 2–10), so the user should wait for it before asking for another.</summary>
    public static Problem OutcomeUnknown(int validityMinutes) => new(502, OutcomeUnknownCode, "The code may or may not have been sent.",
        $"The telephony provider did not confirm the delivery. If a code arrives within {validityMinutes} minutes it works; ask for a new one only if none arrives.",
        60);
}
