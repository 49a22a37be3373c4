using System.Net;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.ApiKeys;

/// <summary>A refused API key is logged with its reason (as ASP.NET Core's handler base class did before issue 27 replaced
/// it), on a Production process with its JSON log, and the key itself never is.</summary>
public class ApiKeyFailureLogTests
{
    [Test]
    public async Task A_refused_key_is_logged_with_its_reason_and_without_the_key()
    {
        await using var service = await Instances.StartAsync(Instances.Production(TestDatabase.CreateDatabase("keylog"), null));
        const string unknown = "ask_unknown_key_for_the_log_test_0123456789";
        using var stranger = service.Client(unknown);
        using var basic = service.Client();
        basic.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz");

        Assert.That((await stranger.GetAsync("/v1/users/u1/two-factor")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await basic.GetAsync("/v1/users/u1/two-factor")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));

        // The process's stdout reaches this one through a pipe: wait (bounded) for the later of the two lines.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!service.Output.Contains("Not a bearer API key.") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(service.Output, Does.Contain("API key authentication failed").And.Contain("Unknown or revoked API key."));
        Assert.That(service.Output, Does.Not.Contain(unknown));
    }
}
