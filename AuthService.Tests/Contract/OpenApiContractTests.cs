using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Contract;

/// <summary><c>openapi.yaml</c> at the repository root is the published contract; it must equal what the service
/// serves. <c>make openapi</c> (UPDATE_OPENAPI=1) rewrites it after an intended change.</summary>
public class OpenApiContractTests
{
    [Test]
    public async Task Published_openapi_yaml_equals_the_served_document()
    {
        using var app = new AuthApp();
        using var client = app.CreateClient();
        var served = Normalize(await client.GetStringAsync("/swagger/v1/swagger.yaml"));
        var path = Path.Combine(Repo.Root, "openapi.yaml");

        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(path, served);
        }

        Assert.That(File.Exists(path), Is.True, "openapi.yaml is missing: run `make openapi`");
        Assert.That(Normalize(await File.ReadAllTextAsync(path)), Is.EqualTo(served),
            "openapi.yaml differs from the served document: run `make openapi` and review the diff");
    }

    [Test]
    public async Task Swagger_ui_and_json_are_served_without_a_key()
    {
        using var app = new AuthApp();
        using var client = app.CreateClient();
        Assert.That(await client.GetStringAsync("/swagger/index.html"), Does.Contain("swagger-ui"));
        Assert.That(await client.GetStringAsync("/swagger/v1/swagger.json"), Does.Contain("\"bearer\""));
    }

    /// <summary>The descriptions quote the deployment's limits (openapi.yaml has the defaults): a served document that says 5 TOTP
    /// apps where the deployment allows 3 tells the caller's developers something false.</summary>
    [Test]
    public async Task The_served_descriptions_quote_the_configured_limits()
    {
        using var app = new AuthApp(new Dictionary<string, string?>
        {
            ["Factors:MaxTotp"] = "3", ["Factors:MaxPhone"] = "2", ["Factors:MaxPasskey"] = "4",
        });
        using var client = app.CreateClient();
        var served = await client.GetStringAsync("/swagger/v1/swagger.json");
        Assert.That(served, Does.Contain("Factors:MaxTotp 3, MaxPhone 2, MaxPasskey 4"));
        Assert.That(served, Does.Not.Contain("Factors:MaxTotp 5"));
    }

    [Test]
    public async Task Docs_can_be_switched_off()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Docs:Enabled"] = "false" });
        using var client = app.CreateClient();
        Assert.That((await client.GetAsync("/swagger/v1/swagger.json")).StatusCode, Is.EqualTo(System.Net.HttpStatusCode.NotFound));
    }

    private static string Normalize(string yaml) => yaml.Replace("\r\n", "\n").TrimEnd() + "\n";
}
