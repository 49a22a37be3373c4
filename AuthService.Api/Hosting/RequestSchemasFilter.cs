using System.Text.Json.Nodes;
using AuthService.Api.Events;
using AuthService.Api.Support;
using AuthService.Api.TwoFactor;
using AuthService.Api.TwoFactor.Methods.Totp;
using AuthService.Api.Webhooks;
using AuthService.Core.BypassCodes;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using AuthService.Core.Text;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;
using static AuthService.Api.Hosting.DiscriminatedSchemas;

namespace AuthService.Api.Hosting;

/// <summary>Request schemas as precise as the service (DESIGN §9.6): <c>required</c> where the service refuses an absent
/// field, an <c>enum</c> for each closed set (channel, purpose, loginMethod, scopes, webhook events), and enroll,
/// switch-method and add-factor as a <c>oneOf</c> by <c>method</c> (totp, phone, passkey), each alternative with only
/// its own fields. The request records stay flat C# types; this filter only rewrites their generated schemas, so a field
/// someone adds to a record appears in the schema (in every alternative of a method-discriminated one) by itself.
/// Optional fields keep <c>nullable</c> (the service reads null as absent) except closed sets, which are omitted rather than null.
/// The browser-written WebAuthn credential objects admit unknown members (<see cref="StrictJson"/>).</summary>
public sealed class RequestSchemasFilter : IDocumentFilter
{
    /// <summary>Each method's own request fields (<see cref="TwoFactor.Methods.IFactorMethod.RequestFields"/>, which the service
    /// enforces); an alternative leaves out the fields of the other methods that are not its own.</summary>
    private static readonly Dictionary<string, string[]> OwnFields = new()
    {
        [FactorMethods.Totp] = TwoFactor.Methods.Totp.TotpMethod.Fields,
        [FactorMethods.Phone] = TwoFactor.Methods.Phone.PhoneMethod.Fields,
        [FactorMethods.Passkey] = TwoFactor.Passkeys.PasskeyMethod.Fields,
    };

    private static readonly (string Method, string Prefix)[] Methods =
        [(FactorMethods.Totp, "Totp"), (FactorMethods.Phone, "Phone"), (FactorMethods.Passkey, "Passkey")];

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        var schemas = document.Components!.Schemas!;
        OpenApiSchema Schema(string name) => (OpenApiSchema)schemas[name];

        Require(Schema("ChallengeRequest"), "channel");
        Schema("ChallengeRequest").Properties!["channel"] = Enum(Channels.Sms, Channels.Call, FactorMethods.Passkey);
        Schema("ChallengeRequest").Properties!["purpose"] = Enum(ChallengePurposes.Login, ChallengePurposes.Proof);
        Require(Schema("LoginDecisionRequest"), "userId", "loginMethod");
        Schema("LoginDecisionRequest").Properties!["loginMethod"] = Enum(LoginMethods.All);
        Require(Schema("CreateApiKeyRequest"), "name", "scopes");
        Schema("CreateApiKeyRequest").Properties!["scopes"] = EnumArray(Scopes.All);
        Require(Schema("CreateWebhookRequest"), "url", "events");
        Schema("CreateWebhookRequest").Properties!["events"] = EnumArray([.. WebhookEvents.All, "two_factor.*", "api_key.*", "*"], RegisterWebhook.MaxEvents);
        Require(Schema("ProofRequest"), "proof");

        // Support's free text (SupportReset.IsText): not blank, no control characters but line feeds and tabs in a reason.
        foreach (var support in new[] { Schema("ResetRequest"), Schema("BypassCodeRequest") })
        {
            Require(support, "reason", "ticket");
            Bound(support, "reason", 1, SupportReset.MaxReasonLength,
                $"Why (audited): 1–{SupportReset.MaxReasonLength} characters, not blank, no control characters but line feeds and tabs.");
            Bound(support, "ticket", 1, SupportReset.MaxTicketLength,
                $"The support ticket (audited and logged): 1–{SupportReset.MaxTicketLength} characters, not blank, no control characters.");
        }

        Range(Schema("BypassCodeRequest"), "uses", BypassCodeRules.MinUses, BypassCodeRules.MaxUses, BypassCodeRules.DefaultUses);
        Range(Schema("BypassCodeRequest"), "validMinutes", BypassCodeRules.MinValidMinutes, BypassCodeRules.MaxValidMinutes,
            BypassCodeRules.DefaultValidMinutes);
        // Bounds the service enforces that the records' types do not say: a user id (Core's UserIds), a code of any kind (at most
        // 64 printable characters, CodeProofs), a webhook URL (WebhookUrlGuard).
        foreach (var parameter in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []).SelectMany(o => o.Parameters ?? [])
                     .OfType<OpenApiParameter>().Where(p => p is { In: ParameterLocation.Path, Name: "userId" }))
        {
            parameter.Schema = UserIdSchema();
        }

        Schema("LoginDecisionRequest").Properties!["userId"] = UserIdSchema();
        foreach (var (name, members) in new[] { ("CodeRequest", new[] { "code" }), ("VerifyRequest", ["code", "backupCode", "bypassCode"]), ("Proof", ["code", "backupCode", "bypassCode"]) })
        {
            foreach (var member in members)
            {
                Bound(Schema(name), member, null, PrintableText.MaxLength);
            }
        }

        Bound(Schema("CreateWebhookRequest"), "url", null, WebhookUrlGuard.MaxUrlLength);
        Bound(Schema("CreateApiKeyRequest"), "name", 1, 100);
        Bound(Schema("CreateWebhookRequest"), "description", null, 500);

        // A factor's or a device's label (FactorLabels): 1–64 printable characters, not blank.
        Bound(Schema("AddFactorRequest"), "label", 1, FactorLabels.MaxLength);
        Bound(Schema("RememberDeviceRequest"), "label", 1, FactorLabels.MaxLength);
        var update = Schema("UpdateFactorRequest");
        Bound(update, "label", 1, FactorLabels.MaxLength);
        // Only `true`: a factor stops being the default when another becomes it. Rename, make default, or both: never nothing.
        update.Properties!["default"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Boolean,
            Enum = [JsonValue.Create(true)],
            Description = "`true` makes this factor the default (the former default loses the flag); `false` is refused.",
        };
        update.MinProperties = 1;
        update.Description = "Send `label`, `default: true` or both; a null member counts as absent, and a body with neither is refused.";

        foreach (var type in StrictJson.BrowserWritten)
        {
            if (schemas.TryGetValue(type.Name, out var browserWritten) && browserWritten is OpenApiSchema open)
            {
                open.AdditionalPropertiesAllowed = true;
                open.AdditionalProperties = null;
            }
        }

        ByMethod(document, schemas, "EnrollRequest", "Enroll", proofRequired: false,
            "Start enrollment: `method` `totp` (optional `accountName`), `phone` (`phoneNumber` in E.164 and `channel`) or `passkey` (optional `accountName`, `displayName`).");
        ByMethod(document, schemas, "SwitchMethodRequest", "Switch", proofRequired: true,
            "Switch to `method` (fields as in enroll), proving the current factor with `proof`.");
        ByMethod(document, schemas, "AddFactorRequest", "AddFactor", proofRequired: false,
            "Add a factor: `method` and its fields as in enroll, an optional `label`, and once 2FA is enabled a `proof` of an existing factor.");

        // What an authenticator shows: a TOTP app's account name (also URL-encoded into the otpauth URI, at most 1024 there), a
        // passkey's account and display names.
        foreach (var stem in new[] { "Enroll", "Switch", "AddFactor" })
        {
            Bound(Schema("Totp" + stem + "Request"), "accountName", null, TotpMethod.MaxAccountNameLength,
                $"What the authenticator app shows (default: the user id): at most {TotpMethod.MaxAccountNameLength} characters, and at most " +
                $"{TotpMethod.MaxEncodedAccountNameLength} once URL-encoded into the otpauth URI (so fewer when most are not ASCII).");
            Bound(Schema("Passkey" + stem + "Request"), "accountName", null, PrintableText.MaxLength);
            Bound(Schema("Passkey" + stem + "Request"), "displayName", null, PrintableText.MaxLength);
        }

        // The language of a phone code's text or call, wherever a request can send one.
        foreach (var schema in schemas.Values.OfType<OpenApiSchema>())
        {
            if (schema.Properties?.TryGetValue("locale", out var locale) == true && locale is OpenApiSchema property)
            {
                var described = (OpenApiSchema)property.CreateShallowCopy();
                described.Description = "A BCP 47 tag (`de`, `pt-BR`, `zh-Hant`; case-insensitive, a region finds its language) choosing the " +
                    "language of the SMS or call, one of docs/LOCALES.md: otherwise 400 `unknown_locale`. Without it, the number's country " +
                    "chooses, then the verify profile's default.";
                schema.Properties["locale"] = described;
            }
        }

        Parameters(document);
    }

    /// <summary>The query and header parameters the service bounds: paging, the delivery status filter, the Idempotency-Key.</summary>
    private static void Parameters(OpenApiDocument document)
    {
        foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []))
        {
            var (maxPage, defaultPage) = operation.OperationId switch
            {
                "Support_Events" => (AuditTrail.MaxPageSize, AuditTrail.DefaultPageSize),
                "Webhooks_Deliveries" => (WebhookDeliveries.MaxPageSize, WebhookDeliveries.DefaultPageSize),
                _ => (0, 0),
            };
            foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
            {
                switch (parameter.In, parameter.Name)
                {
                    case (ParameterLocation.Query, "limit") when maxPage > 0:
                        parameter.Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = $"{maxPage}", Default = JsonValue.Create(defaultPage),
                        };
                        parameter.Description = $"Items per page: 1–{maxPage}.";
                        break;
                    case (ParameterLocation.Query, "before") when maxPage > 0:
                        parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "1" };
                        parameter.Description = "The `nextBefore` of the previous page: only items with a smaller id.";
                        break;
                    case (ParameterLocation.Query, "status") when operation.OperationId == "Webhooks_Deliveries":
                        parameter.Schema = Enum(WebhookDeliveryStatuses.All);
                        parameter.Description = "Only deliveries in this state.";
                        break;
                    case (ParameterLocation.Header, "Idempotency-Key"):
                        parameter.Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.String, MinLength = 1, MaxLength = IdempotentRequests.MaxKeyLength, Pattern = "^[!-~]+$",
                        };
                        parameter.Description = $"1–{IdempotentRequests.MaxKeyLength} visible ASCII characters; a retry with the same key sends nothing new. " +
                                                "Phone codes only: a passkey challenge ignores it.";
                        break;
                }
            }
        }
    }

    private static OpenApiSchema UserIdSchema() => new()
    {
        Type = JsonSchemaType.String, MinLength = 1, MaxLength = Core.UserIds.MaxLength, Pattern = Core.UserIds.Pattern,
        Description = "The portal's opaque user id: 1–128 characters of A–Z, a–z, 0–9 and . _ : @ -, but not `.` or `..` (dot segments, which clients and the server remove from a path).",
    };

    /// <summary>The string <paramref name="name"/> of <paramref name="schema"/> gets length bounds (its nullability kept).</summary>
    private static void Bound(OpenApiSchema schema, string name, int? minLength, int? maxLength, string? description = null)
    {
        if (schema.Properties?.TryGetValue(name, out var found) == true && found is OpenApiSchema property)
        {
            var bounded = (OpenApiSchema)property.CreateShallowCopy();
            bounded.MinLength = minLength;
            bounded.MaxLength = maxLength;
            bounded.Description = description ?? bounded.Description;
            schema.Properties[name] = bounded;
        }
    }

    /// <summary>The integer <paramref name="name"/> of <paramref name="schema"/> gets bounds and the default the service applies
    /// when it is absent (or null).</summary>
    private static void Range(OpenApiSchema schema, string name, int minimum, int maximum, int @default)
    {
        if (schema.Properties?.TryGetValue(name, out var found) == true && found is OpenApiSchema property)
        {
            var bounded = (OpenApiSchema)property.CreateShallowCopy();
            bounded.Minimum = $"{minimum}";
            bounded.Maximum = $"{maximum}";
            bounded.Default = JsonValue.Create(@default);
            schema.Properties[name] = bounded;
        }
    }

    /// <summary>Rewrites the flat schema <paramref name="name"/> as a <c>oneOf</c> of one alternative per method
    /// (<c>TotpEnroll</c>, <c>PhoneEnroll</c>, …), each with the flat schema's fields minus the other methods' own fields.</summary>
    private static void ByMethod(OpenApiDocument document, IDictionary<string, IOpenApiSchema> schemas, string name, string stem, bool proofRequired,
        string description)
    {
        if (!schemas.TryGetValue(name, out var found) || found is not OpenApiSchema { Properties: { } flat } source)
        {
            return;
        }

        var shapes = new List<(string Schema, string Method)>();
        foreach (var (method, prefix) in Methods)
        {
            var others = OwnFields.Where(f => f.Key != method).SelectMany(f => f.Value).Except(OwnFields[method]).ToHashSet();
            var shape = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Properties = flat.Where(p => !others.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value),
                AdditionalPropertiesAllowed = false,
            };
            Require(shape, method == FactorMethods.Phone ? ["phoneNumber", "channel"] : []);
            if (proofRequired)
            {
                Require(shape, "proof");
            }

            if (method == FactorMethods.Phone)
            {
                shape.Properties["channel"] = Enum(Channels.Sms, Channels.Call);
            }

            schemas[prefix + stem + "Request"] = shape;
            shapes.Add((prefix + stem + "Request", method));
        }

        OneOf(document, schemas, name, description, shapes);
        ((OpenApiSchema)schemas[name]).Examples = source.Examples;
    }
}
