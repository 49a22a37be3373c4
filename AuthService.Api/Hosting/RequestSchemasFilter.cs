using AuthService.Api.Events;
using AuthService.Api.Webhooks;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using AuthService.Core.Security;
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
    /// <summary>The fields of one method that the other methods do not take.</summary>
    private static readonly Dictionary<string, string[]> OwnFields = new()
    {
        [FactorMethods.Totp] = ["accountName"],
        [FactorMethods.Phone] = ["phoneNumber", "channel"],
        [FactorMethods.Passkey] = ["accountName", "displayName"],
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
        Require(Schema("ResetRequest"), "reason", "ticket");
        Require(Schema("ProofRequest"), "proof");

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
