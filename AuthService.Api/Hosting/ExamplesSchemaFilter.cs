using System.Text.Json;
using AuthService.Api.ApiKeys;
using AuthService.Api.Devices;
using AuthService.Api.Events;
using AuthService.Api.Policy;
using AuthService.Api.Support;
using AuthService.Api.TwoFactor;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.Hosting;

/// <summary>Example values for request and response bodies (Swagger UI pre-fills *Try it out* with them).</summary>
public sealed class ExamplesSchemaFilter : ISchemaFilter
{
    private static readonly DateTimeOffset At = new(2026, 3, 2, 9, 15, 0, TimeSpan.Zero);

    private static readonly FactorView PhoneFactor = new(Guid.Parse("0195a3c1-7e40-7b8a-9c1d-2f3e4a5b6c7d"), "phone", "Phone +1******0123",
        "+1******0123", "sms", At.AddDays(-30), At.AddDays(-1), true);

    private static readonly FactorView TotpFactor = new(Guid.Parse("0195a3c1-9d20-7f1e-8a2b-3c4d5e6f7a8b"), "totp", "Work phone app", null, null,
        At.AddDays(-2), null, false);

    private static readonly Guid PortalKeyId = Guid.Parse("0195a3c0-2b10-7d4e-8f5a-6b7c8d9e0f1a");

    /// <summary>A key in the shape <c>ApiKeyTokens.Generate</c> makes (<c>ask_</c> and 43 base64url characters), plainly not a real one.</summary>
    private const string PortalKey = "ask_EXAMPLEonly-not-a-real-key-0000000000000000";

    private static readonly ApiKeyResponse PortalApiKey = new(PortalKeyId, "portal-backend", PortalKey[..12], ["verify", "manage"], At.AddDays(-40), null,
        "default");

    private static readonly ApiKeyResponse BootstrapApiKey = new(Guid.Parse("0195a3c0-0a00-7b1c-9d2e-3f4a5b6c7d8e"), "bootstrap-admin", "bootstrap",
        ["admin"], At.AddDays(-41), null, "default");

    private static readonly DeviceView[] DeviceViews =
    [
        new(Guid.Parse("0195a3c2-4e10-7a2b-8c3d-4e5f6a7b8c9d"), "Safari on iPhone", At.AddDays(-1), null, At.AddDays(29)),
        new(Guid.Parse("0195a3c2-1a70-7f3e-9a4b-5c6d7e8f9a0b"), "Chrome on macOS", At.AddDays(-12), At.AddDays(-2), At.AddDays(18)),
    ];

    private static readonly AuditEventPage EventPage = new(
    [
        new AuditEventResponse(1042, AuditEvents.VerificationSucceeded, At, PortalKeyId,
            Details(new AuditEvent.VerificationSucceeded("totp", "login", DriftSteps: 0, FactorId: TotpFactor.Id))),
        new AuditEventResponse(1041, AuditEvents.VerificationFailed, At.AddMinutes(-1), PortalKeyId,
            Details(new AuditEvent.VerificationFailed("totp", "login", "invalid_code", TotpFactor.Id))),
        new AuditEventResponse(1017, AuditEvents.EnrollmentConfirmed, At.AddDays(-2), PortalKeyId,
            Details(new AuditEvent.EnrollmentConfirmed("totp", null, null, 10, TotpFactor.Id))),
    ], null);

    private static readonly string[] BackupCodes =
        ["k7m2p-x9q4r", "b3n8t-w5z2c", "h4j9d-m6v3s", "q2x7f-p8k5n", "t9c4w-r3m7b", "z5g2h-k8d4x", "n7p3q-c2w9j", "f8r5t-v4b6m", "w3k9z-h7n2p", "d6m4x-s9q8g"];

    private static readonly Dictionary<Type, object> Examples = new()
    {
        [typeof(EnrollRequest)] = new { method = "totp", accountName = "ann@example.com" },
        [typeof(CodeRequest)] = new { code = "123456" },
        [typeof(VerifyRequest)] = new { code = "123456" },
        [typeof(Proof)] = new { code = "123456" },
        [typeof(ProofRequest)] = new { proof = new { code = "123456" } },
        [typeof(ChallengeRequest)] = new { channel = "sms" },
        [typeof(SwitchMethodRequest)] = new { method = "phone", phoneNumber = "+13035550123", channel = "sms", proof = new { code = "123456" } },
        [typeof(StatusResponse)] = new StatusResponse("ann", true, "phone", "+1******0123", At, 9, false,
            new PendingStatus("switch", "totp", null, At.AddMinutes(15)), [PhoneFactor, TotpFactor],
            new FallbackOffer("call", "login", PhoneFactor.Id, At.AddMinutes(1), At.AddMinutes(10))),
        [typeof(FactorView)] = TotpFactor,
        [typeof(AddFactorRequest)] = new { method = "totp", label = "Work phone app", proof = new { code = "123456" } },
        [typeof(UpdateFactorRequest)] = new { label = "Old phone", @default = true },
        [typeof(FactorConfirmResponse)] = new FactorConfirmResponse(TotpFactor, null),
        [typeof(TotpEnrollmentResponse)] = new TotpEnrollmentResponse("totp", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            "otpauth://totp/AuthService:ann%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=AuthService&algorithm=SHA1&digits=6&period=30",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" …</svg>", "data:image/png;base64,iVBORw0KGgo…", At.AddMinutes(15), TotpFactor.Id),
        [typeof(PhoneEnrollmentResponse)] = new PhoneEnrollmentResponse("phone", "+1******0123", "sms", At.AddMinutes(10), PhoneFactor.Id),
        [typeof(ChallengeResponse)] = new ChallengeResponse("call", "+1******0123", At.AddMinutes(10), "login"),
        [typeof(ConfirmResponse)] = new ConfirmResponse(true, "totp",
            BackupCodes),
        [typeof(SwitchConfirmResponse)] = new SwitchConfirmResponse(true, "totp"),
        [typeof(VerifyResponse)] = new VerifyResponse(true, "totp", 10, 0, TotpFactor.Id),
        [typeof(BackupCodesRemainingResponse)] = new BackupCodesRemainingResponse(7),
        [typeof(LoginDecisionRequest)] = new LoginDecisionRequest("ann", "password"),
        [typeof(LoginDecisionResponse)] = new LoginDecisionResponse("verify", "totp", false, false),
        [typeof(PromptSkipResponse)] = new PromptSkipResponse(1, true),
        [typeof(ResetRequest)] = new ResetRequest("Lost phone; identity checked by video call", "SUP-1234"),
        [typeof(ResetResponse)] = new ResetResponse(true, true),
        [typeof(CreateApiKeyRequest)] = new CreateApiKeyRequest("portal-backend", ["verify", "manage"]),
        [typeof(CreatedApiKeyResponse)] = new CreatedApiKeyResponse(PortalApiKey.Id, PortalApiKey.Name, PortalApiKey.Prefix, PortalApiKey.Scopes,
            PortalApiKey.CreatedAt, PortalKey, PortalApiKey.Profile),
        [typeof(ApiKeyResponse)] = PortalApiKey,
        [typeof(ApiKeyListResponse)] = new ApiKeyListResponse([BootstrapApiKey, PortalApiKey]),
        [typeof(AuditEventPage)] = EventPage,
        [typeof(AuditEventResponse)] = EventPage.Items[0],
        [typeof(BackupCodesResponse)] = new BackupCodesResponse(BackupCodes, BackupCodes.Length),
        [typeof(DeviceView)] = DeviceViews[1],
        [typeof(DeviceListResponse)] = new DeviceListResponse(DeviceViews),
        [typeof(DevicesRevokedResponse)] = new DevicesRevokedResponse(2),
        [typeof(BypassCodeRequest)] = new BypassCodeRequest("Lost phone and backup codes; identity checked by video call", "SUP-1234", 1, 60),
        [typeof(BypassCodeResponse)] = new BypassCodeResponse("123-456-789", At.AddMinutes(60), 1),
        [typeof(BypassCodesRevokedResponse)] = new BypassCodesRevokedResponse(1),
    };

    /// <summary>An event's details as the audit trail stores them (<c>AuditLog.Details</c>), with the verify profile the request
    /// ran under.</summary>
    private static JsonElement Details(AuditEvent auditEvent)
    {
        var details = JsonSerializer.SerializeToNode(auditEvent, auditEvent.GetType(), JsonSerializerOptions.Web)!.AsObject();
        details["profile"] = "default";
        return JsonSerializer.SerializeToElement(details);
    }

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is OpenApiSchema concrete && Examples.TryGetValue(context.Type, out var example))
        {
            concrete.Examples = [JsonSerializer.SerializeToNode(example, JsonSerializerOptions.Web)!];
        }
    }
}
