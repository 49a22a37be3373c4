using AuthService.Tests.Infrastructure.Contract;

namespace AuthService.Tests.Contract;

/// <summary>The contract check itself has teeth: answers that break openapi.yaml in each way it guards against are
/// refused with the operation, the status and the JSON path; answers that keep it pass. No service is needed.</summary>
public class ContractCheckTests
{
    private const string Status = "/v1/users/ann/two-factor";

    private const string TotpStatus =
        """{"userId":"ann","enabled":true,"method":"totp","phoneNumber":null,"enabledAt":"2026-03-02T09:00:00+00:00","backupCodesRemaining":10,"locked":false,"pending":null}""";

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

    [Test]
    public void A_problem_code_outside_the_catalog_or_a_status_mismatch_is_refused()
    {
        Assert.That(Check("POST", Status + "/verify", 422, "application/problem+json", Problem.Replace("\"code\":\"invalid_code\"", "\"code\":\"made_up\"")), Does.Contain("at /code"));
        Assert.That(Check("POST", Status + "/verify", 422, "application/problem+json", Problem.Replace("\"status\":422", "\"status\":400")),
            Does.Contain("the problem says 400"));
        Assert.That(Check("POST", Status + "/verify", 422, "application/problem+json", Problem), Is.Null);
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
}
