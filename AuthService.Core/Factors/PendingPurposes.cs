namespace AuthService.Core.Factors;

/// <summary>Why a factor is pending: a first enrollment, a switch that replaces every factor, or an addition.</summary>
public static class PendingPurposes
{
    public const string Enroll = "enroll";
    public const string Switch = "switch";

    /// <summary>A further factor for a user who has 2FA (DESIGN §9.2), confirmed at <c>/factors/{id}/confirm</c>.</summary>
    public const string Add = "add";
}
