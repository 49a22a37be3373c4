namespace AuthService.Core.Factors;

/// <summary>The names of the second-factor methods as the API, the database and the audit trail spell them.</summary>
public static class FactorMethods
{
    public const string Totp = "totp";
    public const string Phone = "phone";
    public const string Passkey = "passkey";

    /// <summary>Not a factor of its own: a backup code proves any of them, once.</summary>
    public const string BackupCode = "backup_code";
}

/// <summary>Why a factor is pending: a first enrollment, or a switch away from the current factor.</summary>
public static class PendingPurposes
{
    public const string Enroll = "enroll";
    public const string Switch = "switch";

    /// <summary>A further factor for a user who has 2FA (DESIGN §9.2), confirmed at <c>/factors/{id}/confirm</c>.</summary>
    public const string Add = "add";
}

/// <summary>What a challenge (a phone code or a passkey request sent by <c>/challenge</c>) is for (DESIGN §9.1): a <c>login</c>
/// is accepted only at <c>/verify</c>, a <c>proof</c> only as the proof of a change (switch, new backup codes).</summary>
public static class ChallengePurposes
{
    public const string Login = "login";
    public const string Proof = "proof";

    public static bool IsKnown(string? purpose) => purpose is Login or Proof;
}

/// <summary>The ways a phone code is delivered.</summary>
public static class Channels
{
    public const string Sms = "sms";
    public const string Call = "call";

    public static bool IsPhone(string? channel) => channel is Sms or Call;
}
