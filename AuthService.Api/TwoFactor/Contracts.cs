using System.Text.Json.Serialization;
using AuthService.Api.TwoFactor.Passkeys;

namespace AuthService.Api.TwoFactor;

/// <summary>Start enrollment. <c>method</c> is <c>totp</c> (with <c>accountName</c>), <c>phone</c>
/// (with <c>phoneNumber</c> in E.164 and <c>channel</c> <c>sms</c>|<c>call</c>) or <c>passkey</c> (with <c>accountName</c>
/// and <c>displayName</c>, shown by the authenticator).</summary>
public sealed record EnrollRequest(string? Method, string? AccountName, string? PhoneNumber, string? Channel, string? DisplayName = null,
    string? Locale = null) : Profiles.ILocaleRequest;

/// <summary>A code of the factor being confirmed, or for a passkey the <c>RegistrationResponseJSON</c> as <c>credential</c>.</summary>
public sealed record CodeRequest(string? Code, RegistrationResponseJson? Credential = null);

/// <summary>Exactly one of <c>code</c> (TOTP or phone code), <c>backupCode</c>, <c>credential</c> (a passkey's
/// <c>AuthenticationResponseJSON</c>) and <c>bypassCode</c> (issued by support). Optional (DESIGN §9.3): <c>rememberDevice</c>
/// to remember this browser, and the <c>deviceToken</c> the portal holds for it (a valid one means the login is not from a new
/// device).</summary>
public sealed record VerifyRequest(string? Code, string? BackupCode, AuthenticationResponseJson? Credential = null, string? BypassCode = null,
    Devices.RememberDeviceRequest? RememberDevice = null, string? DeviceToken = null);

/// <summary>Proof of the current factor for a change: a TOTP code, a phone code or passkey assertion from a <c>proof</c> challenge
/// (<c>credential</c>), a backup code, or a support bypass code (<c>bypassCode</c>). It is spent only together with the change it authorises.</summary>
public sealed record Proof(string? Code, string? BackupCode, AuthenticationResponseJson? Credential = null, string? BypassCode = null);

public sealed record ProofRequest(Proof? Proof);

/// <summary>Send a code to a phone user by <c>sms</c> or <c>call</c>, or get the request options of a passkey user (<c>passkey</c>).
/// <c>purpose</c>: <c>login</c> (the default; accepted only at <c>/verify</c>) or <c>proof</c> (accepted only as the <c>proof</c> of
/// a change: a switch, new backup codes, adding or removing a factor).</summary>
public sealed record ChallengeRequest(string? Channel, string? Purpose = null, Guid? FactorId = null, string? Locale = null) : Profiles.ILocaleRequest;

/// <summary>Switch to <c>method</c> (as in enroll, <c>locale</c> included), proving the current factor with <c>proof</c>.</summary>
public sealed record SwitchMethodRequest(string? Method, string? AccountName, string? PhoneNumber, string? Channel, Proof? Proof,
    string? DisplayName = null, string? Locale = null) : Profiles.ILocaleRequest;

/// <summary>Add a factor (DESIGN §9.2): <c>method</c> and its fields as in enroll (<c>locale</c> included), an optional <c>label</c>
/// (at most 64 printable characters), and once 2FA is enabled a <c>proof</c> of an existing factor (as for switch-method).</summary>
public sealed record AddFactorRequest(string? Method, string? Label, string? AccountName, string? PhoneNumber, string? Channel, Proof? Proof,
    string? DisplayName = null, string? Locale = null) : Profiles.ILocaleRequest;

/// <summary>Rename a factor (<c>label</c>) and/or make it the default (<c>default: true</c>).</summary>
public sealed record UpdateFactorRequest(string? Label, [property: JsonPropertyName("default")] bool? Default);

public sealed record PendingStatus(string Purpose, string Method, string? Channel, DateTimeOffset ExpiresAt);

public sealed record StatusResponse(
    string UserId,
    bool Enabled,
    string? Method,
    string? PhoneNumber,
    DateTimeOffset? EnabledAt,
    int BackupCodesRemaining,
    bool Locked,
    PendingStatus? Pending,
    IReadOnlyList<FactorView> Factors,
    FallbackOffer? Fallback = null);

/// <summary>A call offered because Telnyx reported that the SMS carrying the live code of <c>purpose</c> failed (profile
/// <c>Fallback=SmsThenCall</c>, DESIGN §9.5): the portal shows the <i>Call</i> button, which places the call through the usual
/// route (<c>/challenge</c> with <c>channel: call</c>, this <c>purpose</c> and this <c>factorId</c> for <c>login</c>/<c>proof</c>,
/// so the call carries a code of the same purpose and rings the phone whose SMS failed, not the default one; the enrollment again for <c>pending</c>, a switch or addition with a new
/// proof). <c>factorId</c> is the phone factor the code was sent for, or for <c>pending</c> the pending row (an addition's
/// <c>factorId</c>). Gone once that code is replaced, used or expired (<c>expiresAt</c>).</summary>
public sealed record FallbackOffer(string Channel, string Purpose, Guid FactorId, DateTimeOffset OfferedAt, DateTimeOffset ExpiresAt);

/// <summary>One of the user's factors (DESIGN §9.2): <c>phoneNumber</c> (masked) and <c>channel</c> for a phone, else null;
/// <c>lastUsedAt</c> null until it proved a login or a change; exactly one factor is the <c>default</c>.</summary>
public sealed record FactorView(Guid Id, string Method, string Label, string? PhoneNumber, string? Channel, DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt, bool Default);

public sealed record TotpEnrollmentResponse(
    string Method,
    string Secret,
    string OtpauthUri,
    string QrCodeSvg,
    string QrCodePng,
    DateTimeOffset ExpiresAt,
    Guid FactorId);

/// <summary>A code is on its way to <c>phoneNumber</c> (masked).</summary>
public sealed record PhoneEnrollmentResponse(string Method, string PhoneNumber, string Channel, DateTimeOffset ExpiresAt, Guid FactorId);

public sealed record ChallengeResponse(string Channel, string PhoneNumber, DateTimeOffset ExpiresAt, string Purpose)
{
    /// <summary>Always <c>phone</c>: the discriminator of <c>ChallengeStarted</c> (DESIGN §9.6).</summary>
    public string Method => Core.Factors.FactorMethods.Phone;
}

public sealed record ConfirmResponse(bool Enabled, string Method, IReadOnlyList<string> BackupCodes);

public sealed record SwitchConfirmResponse(bool Enabled, string Method);

/// <summary>A confirmed factor; <c>backupCodes</c> only when this confirmation enabled 2FA (shown once).</summary>
public sealed record FactorConfirmResponse(
    FactorView Factor,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? BackupCodes);

public sealed record VerifyResponse(
    bool Verified,
    string Method,
    int BackupCodesRemaining,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? DriftSteps,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? FactorId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DeviceToken = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ExpiresAt = null) : Devices.IDeviceLogin<VerifyResponse>
{
    /// <summary>With the remembered device's token (shown once) and expiry (DESIGN §9.3).</summary>
    public VerifyResponse WithDevice(string deviceToken, DateTimeOffset expiresAt) => this with { DeviceToken = deviceToken, ExpiresAt = expiresAt };
}

public sealed record BackupCodesRemainingResponse(int Remaining);

public sealed record BackupCodesResponse(IReadOnlyList<string> BackupCodes, int Remaining);

/// <summary>What enrollment or a method switch answered: a TOTP secret to scan, a code sent to a phone, or passkey
/// creation options.</summary>
public sealed record PendingStarted(TotpEnrollmentResponse? Totp, PhoneEnrollmentResponse? Phone, PasskeyEnrollmentResponse? Passkey = null);
