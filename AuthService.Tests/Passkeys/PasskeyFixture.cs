using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Passkeys;

/// <summary>One app per fixture with a WebAuthn relying party (<see cref="RpId"/>, <see cref="Origin"/>), and the
/// passkey steps tests need, driven through the public API with a <see cref="SoftPasskey"/>.</summary>
public abstract class PasskeyFixture
{
    public const string RpId = "portal.example.com";
    public const string Origin = "https://portal.example.com";

    /// <summary>The passkey fixtures' own database: the shared one also holds values sealed by the hardening tests' key,
    /// which an in-process app (key k1 only) rightly refuses to start with once those tests ran.</summary>
    public static readonly Lazy<string> Database = new(() => TestDatabase.CreateDatabase("passkeys"), LazyThreadSafetyMode.ExecutionAndPublication);

    protected AuthApp App { get; private set; } = null!;

    protected HttpClient Client { get; private set; } = null!;

    /// <summary>Settings on top of the relying party's.</summary>
    protected virtual IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    [OneTimeSetUp]
    public void StartApp()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Passkeys:RelyingPartyId"] = RpId,
            ["Passkeys:RelyingPartyName"] = "Example Portal",
            ["Passkeys:Origins:0"] = Origin,
        };
        foreach (var (key, value) in ExtraSettings)
        {
            settings[key] = value;
        }

        App = new AuthApp(settings, Database.Value);
        Client = App.AdminClient();
    }

    [OneTimeTearDown]
    public void StopApp()
    {
        Client.Dispose();
        App.Dispose();
    }

    protected static string Path(string userId, string rest) => $"/v1/users/{userId}/two-factor/{rest}";

    protected static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), body);
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>POST …/enroll for a passkey: the creation options.</summary>
    protected async Task<JsonElement> EnrollOptionsAsync(string userId)
    {
        var body = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "enroll"),
            new { method = "passkey", accountName = "ann@example.com", displayName = "Ann" }), HttpStatusCode.Created);
        return body.GetProperty("options");
    }

    /// <summary>Enrolls and confirms a passkey; returns the authenticator and the backup codes.</summary>
    protected async Task<(SoftPasskey Passkey, IReadOnlyList<string> BackupCodes)> EnablePasskeyAsync(string userId)
    {
        var passkey = new SoftPasskey(Origin, RpId);
        var options = await EnrollOptionsAsync(userId);
        var body = await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "enroll/confirm"), new { credential = passkey.Register(options) }),
            HttpStatusCode.OK);
        return (passkey, body.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!).ToList());
    }

    /// <summary>POST …/challenge with channel passkey: the request options of a <c>login</c> (for /verify) or a <c>proof</c>
    /// (for a switch or new backup codes) challenge.</summary>
    protected async Task<JsonElement> ChallengeAsync(string userId, string purpose = "login") =>
        (await JsonAsync(await Client.PostAsJsonAsync(Path(userId, "challenge"), new { channel = "passkey", purpose }), HttpStatusCode.OK))
        .GetProperty("options");

    protected Task<HttpResponseMessage> VerifyAsync(string userId, object credential) =>
        Client.PostAsJsonAsync(Path(userId, "verify"), new { credential });

    protected async Task<JsonElement> StatusAsync(string userId) =>
        await JsonAsync(await Client.GetAsync($"/v1/users/{userId}/two-factor"), HttpStatusCode.OK);

    protected async Task<List<string>> EventsAsync(string userId)
    {
        var page = await JsonAsync(await Client.GetAsync($"/v1/users/{userId}/two-factor/events?limit=200"), HttpStatusCode.OK);
        return page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()!).ToList();
    }
}
