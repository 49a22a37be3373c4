namespace AuthService.Api.Devices;

/// <summary>Remember the browser that verifies (DESIGN §9.3): an optional <c>label</c> (at most 64 printable characters,
/// e.g. "Chrome on macOS"), shown in the user's device list.</summary>
public sealed record RememberDeviceRequest(string? Label);

/// <summary>A remembered device as listed: never its token.</summary>
public sealed record DeviceView(Guid Id, string Label, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset ExpiresAt);

public sealed record DeviceListResponse(IReadOnlyList<DeviceView> Devices);

public sealed record DevicesRevokedResponse(int Revoked);

/// <summary>What a successful login answers, as remembered devices need it: the method and factor that proved it, and the
/// answer with the new device's token (shown once) and its expiry.</summary>
public interface IDeviceLogin<out T>
{
    string Method { get; }

    Guid? FactorId { get; }

    T WithDevice(string deviceToken, DateTimeOffset expiresAt);
}
