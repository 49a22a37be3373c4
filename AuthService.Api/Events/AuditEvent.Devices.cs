using System.Text.Json.Serialization;

namespace AuthService.Api.Events;

/// <summary>The event names of remembered devices (DESIGN §9.3).</summary>
public static partial class AuditEvents
{
    public const string DeviceRemembered = "device_remembered";
    public const string DevicesRevoked = "devices_revoked";
    public const string NewDeviceLogin = "new_device_login";
}

/// <summary>The events of remembered devices (DESIGN §9.3): never the token or its hash.</summary>
public abstract partial record AuditEvent
{
    /// <summary>A successful verify remembered the browser until <paramref name="ExpiresAt"/> (webhook
    /// <c>two_factor.device_remembered</c>).</summary>
    public sealed record DeviceRemembered(Guid DeviceId, string Label, DateTimeOffset ExpiresAt) : AuditEvent(AuditEvents.DeviceRemembered);

    /// <summary><paramref name="Count"/> devices were revoked (webhook <c>two_factor.devices_revoked</c>): <paramref name="Cause"/>
    /// <c>revoked</c> (one, <paramref name="DeviceId"/>), <c>revoke_all</c>, or <c>limit</c> (the oldest beyond
    /// <c>Devices:MaxPerUser</c>). A factor change and a lockout revoke in the database (migration 0009) and are told by their own
    /// events.</summary>
    public sealed record DevicesRevoked(
        int Count,
        string Cause,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? DeviceId = null)
        : AuditEvent(AuditEvents.DevicesRevoked);

    /// <summary>A successful verify that did not come with a valid device token of the user (webhook
    /// <c>two_factor.new_device_login</c>, ASVS 5.0 6.3.5); <paramref name="DeviceId"/> when that verify remembered the browser.</summary>
    public sealed record NewDeviceLogin(
        string Method,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? DeviceId = null)
        : AuditEvent(AuditEvents.NewDeviceLogin);
}

/// <summary>A browser a login asks to remember (DESIGN §9.3): only its token's hash is kept. It is stored in the login's own
/// transaction, under the user's lock, right after the proof is spent (<c>DeviceStore.RememberAsync</c>), so a factor change, a
/// reset or a lockout is either before the login (and refuses it) or after the device exists (and revokes it).</summary>
public sealed record DeviceToRemember(Guid Id, byte[] TokenHash, string Label, DateTimeOffset ExpiresAt, int MaxPerUser);

/// <summary>What a login tells the proof path about its browser (DESIGN §9.3), written in the login's own transaction and never
/// in a commit of its own. <paramref name="IsNew"/>: it came without a valid device token of the user, so its acceptance is a
/// <see cref="AuditEvent.NewDeviceLogin"/> (for a TOTP code in the coalesced batch's write-and-commit). <paramref name="Remember"/>:
/// the browser to remember; such a login takes the single-user path, where the device is stored with the spend.</summary>
public sealed record LoginDevice(bool IsNew, DeviceToRemember? Remember)
{
    public AuditEvent.NewDeviceLogin NewLogin(string method, Guid? factorId) => new(method, factorId, Remember?.Id);
}
