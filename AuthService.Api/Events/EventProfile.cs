namespace AuthService.Api.Events;

/// <summary>The verify profile (DESIGN §9.5) a request runs under, stamped on the audit events and webhook events it writes
/// (<c>profile</c>). Set per request by <c>Profiles/ProfileContext</c>; unset (no stamp) outside a request. The coalesced
/// login batches' workers serve many requests at once and inherit none (<c>Storage/Coalescer</c>): a batch sets each attempt's
/// own, carried with it (<c>TwoFactor/ProofCheck.TotpAttempt</c>), while it makes that attempt's rows.</summary>
public static class EventProfile
{
    private static readonly AsyncLocal<string?> Value = new();

    public static string? Current
    {
        get => Value.Value;
        set => Value.Value = value;
    }
}
