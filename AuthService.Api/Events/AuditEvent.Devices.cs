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

/// <summary>What a login tells the proof path about its device (DESIGN §9.3): it came without a valid device token of the user,
/// so its acceptance is a <see cref="AuditEvent.NewDeviceLogin"/>, written in the login's own transaction (for a TOTP code, in
/// the coalesced batch's write-and-commit), never in a commit of its own. <paramref name="DeviceId"/>: the device this login
/// asks to remember (stored after it).</summary>
public sealed record NewDeviceNotice(Guid? DeviceId)
{
    public AuditEvent.NewDeviceLogin For(string method, Guid? factorId) => new(method, factorId, DeviceId);
}
