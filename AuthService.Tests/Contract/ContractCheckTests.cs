using System.Text.Json.Nodes;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Infrastructure.Contract;
using Json.Schema;

namespace AuthService.Tests.Contract;

/// <summary>The contract check itself has teeth: answers that break openapi.yaml in each way it guards against are
/// refused with the operation, the status and the JSON path; answers that keep it pass. No service is needed.</summary>
public class ContractCheckTests
{
    private const string Status = "/v1/users/ann/two-factor";

    private const string TotpStatus =
        """{"userId":"ann","enabled":true,"method":"totp","phoneNumber":null,"enabledAt":"2026-03-02T09:00:00+00:00","backupCodesRemaining":10,"locked":false,"pending":null,"factors":[],"fallback":null}""";

    private const string Problem =
        """{"type":"https://authservice.dev/problems/invalid_code","title":"t","status":422,"detail":"d","code":"invalid_code","traceId":"x"}""";

    private static string? Check(string method, string path, int status, string? mediaType, string body) =>
        OpenApiContract.Current.Check(method, path, status, mediaType, body);

    [Test]
    public void A_status_with_null_pending_and_phone_number_is_valid() =>
        Assert.That(Check("GET", Status, 200, "application/json", TotpStatus), Is.Null);

    [Test]
    public void A_wrong_type_names_the_operation_and_the_json_path()
    {
        var failure = Check("GET", Status, 200, "application/json", TotpStatus.Replace("\"pending\":null", "\"pending\":5"));
        Assert.That(failure, Does.Contain("TwoFactor_GetStatus").And.Contain("response 200").And.Contain("at /pending"));
    }

    [Test]
    public void An_undeclared_member_or_a_missing_required_one_is_refused()
    {
        Assert.That(Check("GET", Status, 200, "application/json", TotpStatus.Replace("}", ",\"extra\":1}")), Does.Contain("at /extra"));
        Assert.That(Check("POST", Status + "/verify", 422, "application/problem+json", Problem.Replace(",\"code\":\"invalid_code\"", "")),
            Does.Contain("code"));
    }

    [Test]
    public void An_undocumented_status_or_content_type_is_refused()
    {
        Assert.That(Check("GET", Status, 418, "application/problem+json", Problem), Does.Contain("status 418 is not documented for TwoFactor_GetStatus"));
        Assert.That(Check("POST", Status + "/verify", 400, null, ""), Does.Contain("content type '(none)' with an empty body"));
        Assert.That(Check("GET", Status, 200, "text/html", "<p>"), Does.Contain("content type 'text/html'"));
    }

    /// <summary>Every operation declares a 500 problem (code <c>internal_error</c>), so that a typed client reads its code and
    /// traceId instead of a bare error; the check still refuses any 500 a test meets: a 500 is a defect.</summary>
    [Test]
    public void A_500_is_declared_for_typed_clients_and_still_refused_by_the_check()
    {
        var document = OpenApiContract.DocumentJson(Path.Combine(Repo.Root, "openapi.yaml"));
        var operations = document["paths"]!.AsObject().Where(p => p.Key.StartsWith("/v1/", StringComparison.Ordinal))
            .SelectMany(p => p.Value!.AsObject().Where(o => o.Value?["responses"] is not null).Select(o => (Path: p.Key, Operation: o.Value!))).ToList();
        Assert.That(operations, Is.Not.Empty);
        Assert.That(operations.Where(o => o.Operation["responses"]!["500"]?["x-problem-codes"]?[0]?.GetValue<string>() != "internal_error").Select(o => o.Path),
            Is.Empty, "operations without a declared 500 internal_error");
        var internalError = Problem.Replace("invalid_code", "internal_error").Replace("422", "500");
        Assert.That(Check("POST", Status + "/verify", 500, "application/problem+json", internalError), Does.Contain("a 500 is a defect"));
    }

    [Test]
    public void A_problem_code_outside_the_catalog_or_a_status_mismatch_is_refused()
    {
        Assert.That(Check("POST", Status + "/verify", 422, "application/problem+json", Problem.Replace("\"code\":\"invalid_code\"", "\"code\":\"made_up\"")), Does.Contain("at /code"));
        Assert.That(Check("POST", Status + "/verify", 422, "application/problem+json", Problem.Replace("\"status\":422", "\"status\":400")),
            Does.Contain("the problem says 400"));
        Assert.That(Check("POST", Status + "/verify", 422, "application/problem+json", Problem), Is.Null);
    }

    [Test]
    public void A_member_always_sent_as_null_may_not_be_left_out() =>
        Assert.That(Check("GET", Status, 200, "application/json", TotpStatus.Replace(",\"fallback\":null", "")), Does.Contain("fallback"));

    private static string ProblemOf(int status, string code, string? extra = null) =>
        $$"""{"type":"https://authservice.dev/problems/{{code}}","title":"t","status":{{status}},"detail":"d","code":"{{code}}"{{extra}}}""";

    [Test]
    public void A_problem_code_the_operation_does_not_declare_for_that_status_is_refused()
    {
        // In the catalog, but not an answer of /verify's 422 (it is a 404 of other routes).
        Assert.That(Check("POST", Status + "/verify", 422, "application/problem+json", ProblemOf(422, "factor_not_found")),
            Does.Contain("problem code 'factor_not_found' is not one the operation declares for this status"));
        Assert.That(Check("GET", Status, 400, "application/problem+json", ProblemOf(400, "invalid_json")),
            Does.Contain("problem code 'invalid_json'"), "GET …/two-factor reads no body");
    }

    /// <summary>A path id that is not of its type finds no route: the framework's 404 <c>not_found</c>, which the operation the
    /// path looks like must declare (DESIGN §9.6: a malformed path id is a documented problem+json answer).</summary>
    [TestCase("DELETE", "/v1/api-keys/not-a-uuid")]
    [TestCase("DELETE", "/v1/users/ann/two-factor/devices/not-a-uuid")]
    [TestCase("POST", "/v1/users/ann/two-factor/factors/not-a-uuid/confirm")]
    [TestCase("PATCH", "/v1/users/ann/two-factor/factors/not-a-uuid")]
    [TestCase("DELETE", "/v1/users/ann/two-factor/factors/not-a-uuid")]
    [TestCase("GET", "/v1/webhooks/not-a-uuid")]
    [TestCase("DELETE", "/v1/webhooks/not-a-uuid")]
    [TestCase("GET", "/v1/webhooks/not-a-uuid/deliveries")]
    [TestCase("POST", "/v1/webhooks/0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/deliveries/not-a-number/redeliver")]
    public void A_malformed_path_id_answers_a_declared_404_not_found(string method, string path) =>
        Assert.That(Check(method, path, 404, "application/problem+json", ProblemOf(404, "not_found")), Is.Null);

    [Test]
    public void A_required_header_that_is_missing_is_refused()
    {
        var tooMany = ProblemOf(429, "too_many_attempts", ",\"retryAfter\":42");
        Assert.That(OpenApiContract.Current.Check("POST", Status + "/verify", 429, "application/problem+json", tooMany, _ => false),
            Does.Contain("the required header Retry-After is missing"));
        Assert.That(OpenApiContract.Current.Check("POST", Status + "/verify", 429, "application/problem+json", tooMany, h => h == "Retry-After"), Is.Null);
        // 409 idempotency_key_in_use carries it, other 409s do not: declared, not required.
        Assert.That(OpenApiContract.Current.Check("POST", Status + "/challenge", 409, "application/problem+json",
            ProblemOf(409, "no_challenge_for_method"), _ => false), Is.Null);
    }

    [Test]
    public void Enrollment_answers_must_be_one_of_the_two_shapes()
    {
        const string phone = """{"method":"phone","phoneNumber":"+1******0123","channel":"sms","expiresAt":"2026-03-02T09:10:00+00:00","factorId":"0195a3c1-7e40-7b8a-9c1d-2f3e4a5b6c7d"}""";
        Assert.That(Check("POST", Status + "/enroll", 202, "application/json", phone), Is.Null);
        Assert.That(Check("POST", Status + "/enroll", 202, "application/json", phone.Replace(",\"channel\":\"sms\"", "")), Does.Contain("TwoFactor_Enroll").And.Contain("at /"));
    }

    [Test]
    public void Unknown_paths_may_only_answer_a_404_problem()
    {
        const string notFound = """{"type":"https://authservice.dev/problems/not_found","title":"Not found.","status":404,"detail":"Not found.","code":"not_found"}""";
        Assert.That(Check("GET", "/nope", 404, "application/problem+json", notFound), Is.Null);
        Assert.That(Check("GET", "/nope", 200, "text/plain", "hi"), Does.Contain("not a path of openapi.yaml"));
        Assert.That(Check("GET", "/nope", 404, null, ""), Does.Contain("expected application/problem+json"));
    }

    [Test]
    public void Kestrel_refusals_pass_only_when_a_test_relaxes_the_check_with_a_reason()
    {
        Assert.That(ContractCheck.IsServerRejection(400, null, ""), Is.True);
        Assert.That(ContractCheck.IsServerRejection(400, "text/plain", "bad"), Is.False);
        Assert.That(ContractCheck.IsServerRejection(500, null, ""), Is.False);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        Assert.Throws<ArgumentException>(() => request.Relax(Relaxation.Skip, " "));
    }

    private static bool Admits(string schema, string instance)
    {
        var components = new JsonObject { ["Pending"] = new JsonObject { ["type"] = "object" } };
        var compiled = JsonSchema.FromText(OpenApiJsonSchema.Document(JsonNode.Parse(schema)!, components).ToJsonString());
        return compiled.Evaluate(JsonNode.Parse(instance)).IsValid;
    }

    [Test]
    public void Nullable_counts_only_beside_a_type_as_in_OpenAPI_3_0_3_and_Prism()
    {
        Assert.Multiple(() =>
        {
            // The case Prism flagged 22 times: `pending: null` against allOf + nullable without a type.
            Assert.That(Admits("""{"allOf":[{"$ref":"#/components/schemas/Pending"}],"nullable":true}""", "null"), Is.False);
            Assert.That(Admits("""{"type":"object","allOf":[{"$ref":"#/components/schemas/Pending"}],"nullable":true}""", "null"), Is.True);
            Assert.That(Admits("""{"type":"object","allOf":[{"$ref":"#/components/schemas/Pending"}],"nullable":true}""", "5"), Is.False);
            Assert.That(Admits("""{"type":"string","nullable":true}""", "null"), Is.True);
            Assert.That(Admits("""{"type":"string","nullable":false}""", "null"), Is.False);
            // An enum admits null only when it lists it (3.0.3), as ajv's nullable does.
            Assert.That(Admits("""{"type":"string","enum":["sms"],"nullable":true}""", "null"), Is.False);
            Assert.That(Admits("""{"type":"string","enum":["sms",null],"nullable":true}""", "null"), Is.True);
        });
    }

    [Test]
    public void Integer_formats_bound_the_value_as_in_Prism()
    {
        Assert.That(Admits("""{"type":"integer","format":"int32"}""", "2147483647"), Is.True);
        Assert.That(Admits("""{"type":"integer","format":"int32"}""", "2147483648"), Is.False);
        Assert.That(Admits("""{"type":"integer","format":"int64"}""", "9223372036854775807"), Is.True);
    }

    [Test]
    public void The_published_document_puts_nullable_only_beside_a_type()
    {
        var offenders = new List<string>();
        void Walk(JsonNode? node, string at)
        {
            if (node is JsonObject o)
            {
                if (o["nullable"]?.GetValueKind() == System.Text.Json.JsonValueKind.True && !o.ContainsKey("type"))
                {
                    offenders.Add(at);
                }

                foreach (var (key, value) in o)
                {
                    Walk(value, at + "/" + key);
                }
            }
            else if (node is JsonArray a)
            {
                for (var i = 0; i < a.Count; i++)
                {
                    Walk(a[i], $"{at}/{i}");
                }
            }
        }

        Walk(OpenApiContract.DocumentJson(Path.Combine(Repo.Root, "openapi.yaml")), "#");
        Assert.That(offenders, Is.Empty);
    }
}
