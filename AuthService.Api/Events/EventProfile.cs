namespace AuthService.Api.Events;

/// <summary>The verify profile (DESIGN §9.5) a request runs under, stamped on the audit events and webhook events it writes
/// (<c>profile</c>). Set per request by <c>Profiles/ProfileContext</c>; unset (no stamp) outside a request and in the
/// coalesced login batches, whose workers serve many requests at once (<c>Storage/Coalescer</c> does not let them inherit one).</summary>
public static class EventProfile
{
    private static readonly AsyncLocal<string?> Value = new();

    public static string? Current
    {
        get => Value.Value;
        set => Value.Value = value;
    }
}
