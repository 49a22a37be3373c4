namespace AuthService.Core.Factors;

/// <summary>Why a factor is pending: a first enrollment, or a switch away from the current factor.</summary>
public static class PendingPurposes
{
    public const string Enroll = "enroll";
    public const string Switch = "switch";
}
