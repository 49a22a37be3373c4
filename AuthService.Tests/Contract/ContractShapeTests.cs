using System.Text.Json.Nodes;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Infrastructure.Contract;

namespace AuthService.Tests.Contract;

/// <summary>DESIGN §9.6 on the published document itself, beside the answers: one schema for every 2xx of an operation
/// (a <c>oneOf</c> with a <c>method</c> discriminator when the shapes differ), closed request schemas with
/// <c>required</c>, and an <c>enum</c> for each closed set a typed client must not get wrong.</summary>
public class ContractShapeTests
{
    private static readonly JsonObject Document = OpenApiContract.DocumentJson(Path.Combine(Repo.Root, "openapi.yaml"));

    private static JsonObject Schemas => Document["components"]!["schemas"]!.AsObject();

    private static JsonObject Schema(string name) => Schemas[name]!.AsObject();

    private static IEnumerable<(string Id, JsonObject Operation)> Operations() =>
        Document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject())
            .Where(o => o.Value is JsonObject { } op && op.ContainsKey("responses"))
            .Select(o => (o.Value!["operationId"]!.GetValue<string>(), o.Value!.AsObject()));

    [Test]
    public void No_operation_answers_two_different_2xx_schemas()
    {
        foreach (var (id, operation) in Operations())
        {
            var schemas = operation["responses"]!.AsObject().Where(r => r.Key.StartsWith('2'))
                .Select(r => r.Value?["content"]?["application/json"]?["schema"]?.ToJsonString()).Distinct().ToList();
            Assert.That(schemas, Has.Count.LessThanOrEqualTo(1), $"{id} answers divergent 2xx schemas: {string.Join(" | ", schemas)}");
        }

        Assert.That(Schema("ChallengeStarted")["discriminator"]!["propertyName"]!.GetValue<string>(), Is.EqualTo("method"));
    }

    [Test]
    public void Every_request_body_is_closed_and_says_what_it_requires()
    {
        foreach (var (id, operation) in Operations())
        {
            if (operation["requestBody"]?["content"]?["application/json"]?["schema"]?["$ref"]?.GetValue<string>() is not { } reference)
            {
                continue;
            }

            var schema = Schema(reference.Split('/')[^1]);
            var shapes = schema["oneOf"] is JsonArray oneOf ? oneOf.Select(s => Schema(s!["$ref"]!.GetValue<string>().Split('/')[^1])).ToList() : [schema];
            foreach (var shape in shapes)
            {
                Assert.That(shape["additionalProperties"]?.GetValue<bool>(), Is.False, $"{id}: {reference} admits unknown members");
            }

            if (schema["oneOf"] is not null)
            {
                Assert.That(schema["discriminator"]?["propertyName"]?.GetValue<string>(), Is.EqualTo("method"), id);
                Assert.That(shapes.Select(s => s["required"]!.AsArray().Select(r => r!.GetValue<string>())), Has.All.Contains("method"), id);
            }
        }
    }

    [TestCase("ChallengeRequest", "channel", "sms,call,passkey")]
    [TestCase("ChallengeRequest", "purpose", "login,proof")]
    [TestCase("LoginDecisionRequest", "loginMethod", "password,oauth,sso,saml,api_key")]
    [TestCase("PhoneEnrollRequest", "channel", "sms,call")]
    [TestCase("TotpEnrollRequest", "method", "totp")]
    [TestCase("PasskeySwitchRequest", "method", "passkey")]
    [TestCase("PhoneAddFactorRequest", "method", "phone")]
    public void Closed_sets_are_enums(string schema, string property, string values) =>
        Assert.That(Schema(schema)["properties"]![property]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()), Is.EqualTo(values.Split(',')));

    [TestCase("CreateApiKeyRequest", "scopes", "verify")]
    [TestCase("CreateWebhookRequest", "events", "two_factor.enabled")]
    public void Closed_lists_are_arrays_of_an_enum(string schema, string property, string oneValue) =>
        Assert.That(Schema(schema)["properties"]![property]!["items"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()), Does.Contain(oneValue));

    [TestCase("PhoneEnrollRequest", "method,phoneNumber,channel")]
    [TestCase("TotpSwitchRequest", "method,proof")]
    [TestCase("ChallengeRequest", "channel")]
    [TestCase("CreateApiKeyRequest", "name,scopes")]
    [TestCase("LoginDecisionRequest", "userId,loginMethod")]
    [TestCase("CreatedWebhookResponse", "id,url,events,createdAt,secret")]
    [TestCase("StatusResponse", "userId,enabled,backupCodesRemaining,locked,factors")]
    [TestCase("BypassCodeRequest", "reason,ticket")]
    public void Required_members_are_listed_and_not_nullable(string schema, string members)
    {
        var s = Schema(schema);
        foreach (var member in members.Split(','))
        {
            Assert.That(s["required"]!.AsArray().Select(r => r!.GetValue<string>()), Does.Contain(member), $"{schema}.{member}");
            Assert.That(s["properties"]![member]!["nullable"]?.GetValue<bool>() ?? false, Is.False, $"{schema}.{member}");
        }
    }

    private static JsonObject Operation(string operationId) => Operations().Single(o => o.Id == operationId).Operation;

    private static JsonObject? Response(string operationId, string status) => Operation(operationId)["responses"]![status]?.AsObject();

    private static List<string> Codes(JsonObject? response) =>
        response?["x-problem-codes"]?.AsArray().Select(c => c!.GetValue<string>()).ToList() ?? [];

    private static List<string> Strings(JsonNode? array) => array?.AsArray().Select(v => v!.GetValue<string>()).ToList() ?? [];

    /// <summary>Every member a response type always writes (no <c>JsonIgnore</c>) is required; a nullable one stays nullable.</summary>
    [TestCase("StatusResponse", "method,phoneNumber,enabledAt,pending,fallback")]
    [TestCase("FactorView", "phoneNumber,channel,lastUsedAt")]
    [TestCase("PendingStatus", "channel")]
    [TestCase("LoginDecisionResponse", "method")]
    [TestCase("DeviceView", "lastUsedAt")]
    [TestCase("ApiKeyResponse", "revokedAt")]
    [TestCase("AuditEventResponse", "apiKeyId")]
    [TestCase("AuditEventPage", "nextBefore")]
    [TestCase("WebhookDeliveryPage", "nextBefore")]
    [TestCase("WebhookResponse", "description")]
    [TestCase("CreatedWebhookResponse", "description")]
    [TestCase("WebhookDeliveryResponse", "userId,lastAttemptAt,lastStatus,lastError,nextAttemptAt,deliveredAt")]
    public void Members_sent_as_null_are_required_and_nullable(string schema, string members)
    {
        var s = Schema(schema);
        foreach (var member in members.Split(','))
        {
            Assert.That(Strings(s["required"]), Does.Contain(member), $"{schema}.{member} is always sent");
            var property = s["properties"]![member]!;
            Assert.That(property["nullable"]?.GetValue<bool>(), Is.True, $"{schema}.{member} may be null");
        }
    }

    /// <summary>Members left out when null (<c>JsonIgnore(WhenWritingNull)</c>) are not required.</summary>
    [TestCase("VerifyResponse", "driftSteps,factorId,deviceToken,expiresAt")]
    [TestCase("LoginDecisionResponse", "reason")]
    [TestCase("FactorConfirmResponse", "backupCodes")]
    public void Members_left_out_when_null_are_optional(string schema, string members) =>
        Assert.That(Strings(Schema(schema)["required"]), Has.None.AnyOf(members.Split(',')));

    [TestCase("LoginDecisionResponse", "action", "verify,enroll_prompt,none")]
    [TestCase("LoginDecisionResponse", "reason", "trusted_device")]
    [TestCase("VerifyResponse", "method", "totp,phone,passkey,backup_code,bypass_code")]
    [TestCase("PendingStatus", "purpose", "enroll,switch")]
    [TestCase("WebhookDeliveryResponse", "status", "pending,delivered,failed")]
    public void Closed_sets_of_responses_are_enums(string schema, string property, string values) =>
        Closed_sets_are_enums(schema, property, values);

    [Test]
    public void Response_scopes_and_audit_event_types_are_enums()
    {
        Assert.That(Strings(Schema("ApiKeyResponse")["properties"]!["scopes"]!["items"]!["enum"]), Is.EqualTo(new[] { "verify", "manage", "admin" }));
        Assert.That(Strings(Schema("CreatedApiKeyResponse")["properties"]!["scopes"]!["items"]!["enum"]), Is.EqualTo(new[] { "verify", "manage", "admin" }));
        Assert.That(Strings(Schema("AuditEventResponse")["properties"]!["type"]!["enum"]),
            Does.Contain("verification_error").And.Contain("support_reset").And.Contain("new_device_login").And.Contain("sms_failed")
                // a proof's stage is no event type (a constant of AuditEvents is one, by reflection)
                .And.Not.Contain("backup_codes"));
    }

    /// <summary>Every operation that opens a sealed secret of the user (a proof, a confirmation, a challenge opening the phone
    /// number) can answer 503 <c>secret_unavailable</c>, and says so.</summary>
    [TestCase("TwoFactor_Verify")]
    [TestCase("TwoFactor_ConfirmEnrollment")]
    [TestCase("TwoFactor_Challenge")]
    [TestCase("TwoFactor_SwitchMethod")]
    [TestCase("TwoFactor_ConfirmSwitch")]
    [TestCase("TwoFactor_RegenerateBackupCodes")]
    [TestCase("TwoFactor_AddFactor")]
    [TestCase("TwoFactor_ConfirmFactor")]
    [TestCase("TwoFactor_RemoveFactor")]
    public void Secret_unavailable_is_declared_where_a_sealed_secret_is_opened(string operationId) =>
        Assert.That(Codes(Response(operationId, "503")), Does.Contain("secret_unavailable").And.Contain("database_unavailable"));

    /// <summary>DESIGN §9.6: a malformed path id is a documented problem+json answer (404 <c>not_found</c>: it finds no route).</summary>
    [TestCase("Keys_Revoke")]
    [TestCase("Devices_Revoke")]
    [TestCase("TwoFactor_ConfirmFactor")]
    [TestCase("TwoFactor_UpdateFactor")]
    [TestCase("TwoFactor_RemoveFactor")]
    [TestCase("Webhooks_Get")]
    [TestCase("Webhooks_Delete")]
    [TestCase("Webhooks_Deliveries")]
    [TestCase("Webhooks_Redeliver")]
    public void A_malformed_path_id_is_a_documented_404_not_found(string operationId)
    {
        var notFound = Response(operationId, "404");
        Assert.That(Codes(notFound), Does.Contain("not_found"));
        Assert.That(notFound!["description"]!.GetValue<string>(), Does.Contain("matches no route: 404 `not_found`"));
    }

    [Test]
    public void Bypass_code_requests_say_the_bounds_and_defaults_the_service_enforces()
    {
        var properties = Schema("BypassCodeRequest")["properties"]!;
        Assert.Multiple(() =>
        {
            Assert.That(properties["reason"]!["minLength"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(properties["reason"]!["maxLength"]!.GetValue<int>(), Is.EqualTo(500));
            Assert.That(properties["ticket"]!["minLength"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(properties["ticket"]!["maxLength"]!.GetValue<int>(), Is.EqualTo(100));
            Assert.That(properties["uses"]!["minimum"]!.GetValue<decimal>(), Is.EqualTo(1));
            Assert.That(properties["uses"]!["maximum"]!.GetValue<decimal>(), Is.EqualTo(10));
            Assert.That(properties["uses"]!["default"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(properties["validMinutes"]!["minimum"]!.GetValue<decimal>(), Is.EqualTo(5));
            Assert.That(properties["validMinutes"]!["maximum"]!.GetValue<decimal>(), Is.EqualTo(4320));
            Assert.That(properties["validMinutes"]!["default"]!.GetValue<int>(), Is.EqualTo(60));
            Assert.That(Schema("ResetRequest")["properties"]!["reason"]!["maxLength"]!.GetValue<int>(), Is.EqualTo(500));
        });
    }

    [Test]
    public void A_factor_update_needs_a_member_and_default_can_only_be_true()
    {
        var update = Schema("UpdateFactorRequest");
        Assert.That(update["minProperties"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(update["properties"]!["default"]!["enum"]!.AsArray().Select(v => v!.GetValue<bool>()), Is.EqualTo(new[] { true }));
        Assert.That(update["properties"]!["label"]!["maxLength"]!.GetValue<int>(), Is.EqualTo(64));
    }

    [TestCase("Webhooks_Deliveries")]
    [TestCase("Support_Events")]
    public void Paging_parameters_are_bounded(string operationId)
    {
        var parameters = Operation(operationId)["parameters"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => p!["schema"]!);
        Assert.Multiple(() =>
        {
            Assert.That(parameters["limit"]["minimum"]!.GetValue<decimal>(), Is.EqualTo(1));
            Assert.That(parameters["limit"]["maximum"]!.GetValue<decimal>(), Is.EqualTo(200));
            Assert.That(parameters["limit"]["default"]!.GetValue<int>(), Is.EqualTo(50));
            Assert.That(parameters["before"]["minimum"]!.GetValue<decimal>(), Is.EqualTo(1));
            if (operationId == "Webhooks_Deliveries")
            {
                Assert.That(Strings(parameters["status"]["enum"]), Is.EqualTo(new[] { "pending", "delivered", "failed" }));
            }
        });
    }

    /// <summary><c>Retry-After</c> on every 429 and 503 problem, and on the 409 and 502 problems that carry <c>retryAfter</c>.</summary>
    [Test]
    public void Retry_after_is_declared_where_it_is_sent()
    {
        foreach (var (id, operation) in Operations().Where(o => !o.Id.StartsWith("Health_", StringComparison.Ordinal)))
        {
            foreach (var (status, response) in operation["responses"]!.AsObject())
            {
                var header = response!["headers"]?["Retry-After"];
                var codes = Codes(response.AsObject());
                var expected = status is "429" or "503" ? true
                    : codes.Contains("idempotency_key_in_use") || codes.Contains("change_in_progress") || codes.Contains("telephony_outcome_unknown") ? false
                    : (bool?)null;
                Assert.That(header is null ? (bool?)null : header["required"]?.GetValue<bool>() ?? false, Is.EqualTo(expected), $"{id} {status}");
                if (header is not null)
                {
                    Assert.That(header["schema"]!["type"]!.GetValue<string>(), Is.EqualTo("integer"), $"{id} {status}");
                }
            }
        }

        Assert.That(Schema("ProblemDetails")["properties"]!["retryAfter"]!["description"]!.GetValue<string>(),
            Does.Contain("502 `telephony_outcome_unknown`").And.Contain("409 `idempotency_key_in_use`"));
    }

    /// <summary>No route declares a code it cannot answer. A route without a body cannot get a malformed or unknown member,
    /// nor a body validation; Telnyx's callback reads its raw body, so no member is ever unknown there. Every route can get a
    /// non-UTF-8 charset refused (Http/JsonCharset), with a body or without.</summary>
    [Test]
    public void Codes_that_cannot_occur_are_not_declared()
    {
        var bodyless = new[] { "TwoFactor_GetStatus", "TwoFactor_GetBackupCodes", "Devices_List", "Devices_Revoke", "Devices_RevokeAll", "LoginDecisions_Skip", "Support_RevokeBypassCodes" };
        foreach (var id in bodyless)
        {
            Assert.That(Codes(Response(id, "400")), Has.None.AnyOf("invalid_json", "validation_failed", "unknown_field", "invalid_parameter"), id);
        }

        Assert.That(Codes(Response("SmsFallback_Receive", "400")), Does.Not.Contain("unknown_field"));
        foreach (var (id, operation) in Operations())
        {
            Assert.That(Codes(operation["responses"]!["415"]?.AsObject()), Is.EqualTo(new[] { "unsupported_media_type" }), id);
            if (operation["requestBody"] is null)
            {
                Assert.That(operation["responses"]!["413"], Is.Null, $"{id} reads no body, so it is never too large");
            }
        }
    }

    /// <summary>Every problem response lists its codes (<c>x-problem-codes</c>, which the contract check holds answers to), each
    /// in the catalog.</summary>
    [Test]
    public void Every_problem_response_lists_its_codes()
    {
        var catalog = Strings(Schema("ProblemDetails")["properties"]!["code"]!["enum"]);
        foreach (var (id, operation) in Operations())
        {
            foreach (var (status, response) in operation["responses"]!.AsObject())
            {
                if (response!["content"]?["application/problem+json"] is not null)
                {
                    Assert.That(Codes(response.AsObject()), Is.Not.Empty.And.SubsetOf(catalog), $"{id} {status}");
                }
            }
        }
    }
}
