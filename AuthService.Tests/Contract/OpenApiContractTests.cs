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

    [Test]
    public async Task Docs_can_be_switched_off()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Docs:Enabled"] = "false" });
        using var client = app.CreateClient();
        Assert.That((await client.GetAsync("/swagger/v1/swagger.json")).StatusCode, Is.EqualTo(System.Net.HttpStatusCode.NotFound));
    }

    private static string Normalize(string yaml) => yaml.Replace("\r\n", "\n").TrimEnd() + "\n";
}
