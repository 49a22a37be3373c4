namespace AuthService.Api.Telephony;

/// <summary>Which sender delivers codes: configuration key <c>Telephony:Provider</c>.</summary>
public sealed class TelephonyOptions
{
    public const string SectionName = "Telephony";
    public const string Telnyx = "telnyx";
    public const string Log = "log";

    /// <summary><c>telnyx</c> or <c>log</c>. Unset means <c>log</c> in Development and <c>telnyx</c> elsewhere.</summary>
    public string? Provider { get; set; }
}
