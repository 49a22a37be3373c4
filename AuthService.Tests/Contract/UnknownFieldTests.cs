using System.Net;
using System.Text;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace AuthService.Tests.Contract;

/// <summary>DESIGN §9.6: every request schema says <c>additionalProperties: false</c>, and the service holds to it. A member
/// no request type declares is refused with 400 <c>unknown_field</c> before anything is done, on every operation that
/// takes a JSON body (read from openapi.yaml, so a new route is covered without touching this test), at any depth;
/// only the browser-written WebAuthn credential objects keep accepting members they do not know.</summary>
public class UnknownFieldTests : AppFixture
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Every (method, path) of openapi.yaml with a request body.</summary>
    public static IEnumerable<TestCaseData> OperationsWithABody()
    {
        var settings = new OpenApiReaderSettings();
        settings.AddYamlReader();
        var (document, _) = OpenApiDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "openapi.yaml")), "yaml", settings);
        foreach (var (path, item) in document!.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                // Telnyx's callback takes Telnyx's events as they are: Telnyx adds fields, and it signs the body it sends.
                if (operation.RequestBody is not null && !path.StartsWith("/telnyx/", StringComparison.Ordinal))
                {
                    yield return new TestCaseData(method.Method, path).SetArgDisplayNames(method.Method, path);
                }
            }
        }
    }

    [TestCaseSource(nameof(OperationsWithABody))]
    public async Task Every_operation_with_a_body_refuses_an_unknown_member(string method, string template)
    {
        // A user id for {userId}, a GUID for any other id ({factorId}, {id}, …): the body is read before any of them is looked up.
        var path = System.Text.RegularExpressions.Regex.Replace(template.Replace("{userId}", AuthApp.NewUserId("strict"), StringComparison.Ordinal),
            @"\{[^}]+\}", _ => Guid.NewGuid().ToString());
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Json("""{"bogus":1}""") };
        var problem = await ProblemAssert.IsProblemAsync(await Client.SendAsync(request), HttpStatusCode.BadRequest, "unknown_field");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("$.bogus"));
    }

    /// <summary>Enroll, switch-method and add-factor are a <c>oneOf</c> by method, each alternative with only its own fields: a
    /// field of another method is not one of this request's. They were bound to one flat record and went through silently (a
    /// TOTP enrollment with a phone number answered 201).</summary>
    [TestCase("enroll", """{"method":"totp","phoneNumber":"+13035550123","channel":"sms"}""", "phoneNumber")]
    [TestCase("enroll", """{"method":"phone","phoneNumber":"+13035550123","channel":"sms","accountName":"ann"}""", "accountName")]
    [TestCase("enroll", """{"method":"totp","displayName":"Ann"}""", "displayName")]
    [TestCase("switch-method", """{"method":"totp","channel":"call","proof":{"code":"123456"}}""", "channel")]
    [TestCase("factors", """{"method":"passkey","phoneNumber":"+13035550123","proof":{"code":"123456"}}""", "phoneNumber")]
    public async Task A_field_of_another_method_is_refused_as_unknown(string route, string json, string field)
    {
        var userId = AuthApp.NewUserId("strict");
        var response = await Client.PostAsync($"/v1/users/{userId}/two-factor/{route}", Json(json));
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "unknown_field");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("$." + field), "named by its JSON path, as every unknown member is");
        var status = JsonDocument.Parse(await Client.GetStringAsync($"/v1/users/{userId}/two-factor")).RootElement;
        Assert.That(status.GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null), "nothing started");
    }

    [Test]
    public async Task An_api_key_request_with_an_extra_field_creates_no_key()
    {
        var name = "strict-" + Guid.NewGuid().ToString("N")[..8];
        var response = await Client.PostAsync("/v1/api-keys", Json($$"""{"name":"{{name}}","scopes":["verify"],"bogus":1}"""));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "unknown_field");
        var keys = await Client.GetStringAsync("/v1/api-keys");
        Assert.That(keys, Does.Not.Contain(name));
    }

    [Test]
    public async Task A_nested_unknown_member_is_named_by_its_path_and_spends_nothing()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = Flows.Code(user.Secret, Now);
        var response = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            Json($$$"""{"method":"totp","proof":{"code":"{{{code}}}","remember":true}}"""));
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "unknown_field");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("$.proof.remember"));

        // The code was not spent by the refused request: it still verifies.
        var verified = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/verify", Json($$"""{"code":"{{code}}"}"""));
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK), await verified.Content.ReadAsStringAsync());
    }

    /// <summary>A member given twice is refused, not read as its last value: a proxy or a log that reads the first would see
    /// another code than the one checked.</summary>
    [Test]
    public async Task A_member_given_twice_is_refused_and_spends_nothing()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = Flows.Code(user.Secret, Now);
        var twice = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/verify", Json($$"""{"code":"000000","code":"{{code}}"}"""));
        await ProblemAssert.IsProblemAsync(twice, HttpStatusCode.BadRequest, "invalid_json");
        var nested = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/backup-codes",
            Json($$$"""{"proof":{"code":"{{{code}}}","code":"{{{code}}}"}}"""));
        await ProblemAssert.IsProblemAsync(nested, HttpStatusCode.BadRequest, "invalid_json");

        var verified = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/verify", Json($$"""{"code":"{{code}}"}"""));
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK), await verified.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Case_variants_of_a_declared_member_are_not_unknown()
    {
        // Web defaults read members case-insensitively: "Code" is the declared "code", not an unknown member.
        var user = await Flows.EnableTotpAsync(App, Client);
        var response = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/verify", Json($$"""{"Code":"{{Flows.Code(user.Secret, Now)}}"}"""));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_browser_written_credential_may_carry_members_this_version_does_not_know()
    {
        // A WebAuthn Level 3 assertion with a future member at each level: judged as a credential (here: for a TOTP user,
        // whose factor is no passkey), never refused as an unknown field.
        var user = await Flows.EnableTotpAsync(App, Client);
        const string credential = """
            {"credential":{"id":"AQID","rawId":"AQID","type":"public-key","authenticatorAttachment":"platform","clientExtensionResults":{},
             "futureMember":{"a":1},"response":{"clientDataJSON":"AQID","authenticatorData":"AQID","signature":"AQID","userHandle":null,
             "attestationObject":"AQID"}}}
            """;
        var response = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/verify", Json(credential));
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.InRange(400, 499), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("code").GetString(), Is.Not.EqualTo("unknown_field"), body);

        // The credential's siblings stay strict.
        var sibling = await Client.PostAsync($"/v1/users/{user.UserId}/two-factor/verify", Json(credential.Replace("{\"credential\"", "{\"extra\":1,\"credential\"")));
        await ProblemAssert.IsProblemAsync(sibling, HttpStatusCode.BadRequest, "unknown_field");
    }
}
