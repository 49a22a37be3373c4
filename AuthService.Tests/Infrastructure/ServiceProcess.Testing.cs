using AuthService.Tests.Infrastructure.Contract;

namespace AuthService.Tests.Infrastructure;

/// <summary>The tests' part of <see cref="ServiceProcess"/> (the shared part is linked into the bench and the failover test).</summary>
public sealed partial class ServiceProcess
{
    /// <summary>The Api build copied next to the tests, on a free port, in the test run's pooler mode unless the test
    /// sets its own.</summary>
    public static ServiceProcess Start(IDictionary<string, string?> environment, string[]? args = null)
    {
        var settings = new Dictionary<string, string?>();
        if (TestDatabase.Pooler is { } pooler)
        {
            settings["Database__Pooler"] = pooler;
        }

        foreach (var (key, value) in environment)
        {
            settings[key] = value;
        }

        return Start(Path.Combine(AppContext.BaseDirectory, "AuthService.Api.dll"), new Uri($"http://127.0.0.1:{FreePort()}"), settings, args);
    }

    // Every answer is checked against openapi.yaml, as for the in-process app.
    private static partial HttpMessageHandler NewHandler() => new ContractCheckingHandler(new HttpClientHandler());
}
