using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Webhooks;
using static AuthService.Tests.Support.BypassCodeTests;
using static AuthService.Tests.Webhooks.WebhookTesting;

namespace AuthService.Tests.Support;

/// <summary>Issue 24 point 2: a bypass code as the proof of a change (so a user who lost the phone moves to a new one), and
/// each use audited with its ticket and sent as <c>two_factor.bypass_code_used</c>.</summary>
public class BypassCodeProofTests : AppFixture
{
    private WebhookReceiver _receiver = null!;
    private Endpoint _endpoint = null!;

    [OneTimeSetUp]
    public async Task Subscribe()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _endpoint = await SubscribeAsync(Client, _receiver, "two_factor.bypass_code_used");
    }

    [OneTimeTearDown]
    public async Task Unsubscribe()
    {
        await DeleteEndpointsAsync(App.ConnectionString, _endpoint.Id);
        await _receiver.DisposeAsync();
    }

    [Test]
    public async Task A_bypass_code_proves_a_switch_to_a_new_authenticator()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId, ticket: "SUP-9");
        var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"),
            new { method = "totp", accountName = "ann@example.com", proof = new { bypassCode = code } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var secret = OtpNet.Base32Encoding.ToBytes(body.GetProperty("secret").GetString());
        var confirmed = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"),
            new { code = Flows.Code(secret, App.Time.GetUtcNow()) });
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());

        var again = await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { bypassCode = code } });
        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task A_bypass_code_proves_new_backup_codes_and_adding_a_factor()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId, uses: 2);
        var regenerated = await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { bypassCode = code } });
        Assert.That(regenerated.StatusCode, Is.EqualTo(HttpStatusCode.Created), await regenerated.Content.ReadAsStringAsync());
        var added = await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "totp", accountName = "ann@example.com", proof = new { bypassCode = code } });
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created), await added.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { bypassCode = code } }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task A_proof_with_two_kinds_of_code_is_400()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"),
            new { proof = new { bypassCode = code, code = "123456" } }), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Test]
    public async Task Each_use_is_audited_with_the_ticket_and_sent_as_a_webhook_and_the_code_is_nowhere()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = await IssueAsync(Client, user.UserId, uses: 2, ticket: "SUP-42");
        (await Flows.VerifyAsync(Client, user.UserId, new { bypassCode = code })).EnsureSuccessStatusCode();
        (await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { bypassCode = code } })).EnsureSuccessStatusCode();

        var page = await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId, "/events?limit=200"));
        var events = page.GetProperty("items").EnumerateArray().ToList();
        var uses = events.Where(e => e.GetProperty("type").GetString() == "bypass_code_used").Select(e => e.GetProperty("details")).ToList();
        Assert.That(uses.Select(u => u.GetProperty("stage").GetString()), Is.EqualTo(new[] { "backup_codes", "login" }));
        Assert.That(uses.Select(u => u.GetProperty("ticket").GetString()), Has.All.EqualTo("SUP-42"));
        Assert.That(uses.Select(u => u.GetProperty("usesLeft").GetInt32()), Is.EqualTo(new[] { 0, 1 }));
        var issued = events.Single(e => e.GetProperty("type").GetString() == "bypass_code_issued").GetProperty("details");
        Assert.That(issued.GetProperty("reason").GetString(), Is.EqualTo("lost phone"));
        Assert.That(string.Join("\n", events.Select(e => e.GetRawText())), Does.Not.Contain(code.Replace("-", "")).And.Not.Contain(code));

        await DrainAsync(App);
        var hooks = For(_receiver, user.UserId);
        Assert.That(hooks.Select(h => h.Type), Is.EqualTo(new[] { "two_factor.bypass_code_used", "two_factor.bypass_code_used" }));
        Assert.That(hooks.Select(h => h.Data.GetProperty("ticket").GetString()), Has.All.EqualTo("SUP-42"));
        Assert.That(hooks.Select(h => h.Body), Has.None.Contains(code.Replace("-", "")));
    }
}
