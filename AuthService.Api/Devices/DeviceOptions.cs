namespace AuthService.Api.Devices;

/// <summary><c>Devices:*</c> — remembered devices (DESIGN §9.3), checked at start-up.</summary>
public sealed class DeviceOptions
{
    /// <summary>The most a deployment may configure: a remembered browser is AAL1 only, so it is not kept for long.</summary>
    public const int MaxRememberDays = 90;

    /// <summary>How long a remembered device skips the second step (1–90 days).</summary>
    public int RememberDays { get; set; } = 30;

    /// <summary>How many devices a user may have remembered at once; remembering one more drops the oldest.</summary>
    public int MaxPerUser { get; set; } = 20;

    public bool IsValid => RememberDays is >= 1 and <= MaxRememberDays && MaxPerUser is >= 1 and <= 1000;
}
