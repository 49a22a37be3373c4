using Npgsql;

namespace AuthService.Tests.Infrastructure;

/// <summary>One app per fixture on the shared test database, an admin client, and — for fixtures that send codes — a
/// loopback Telnyx stand-in the app's real Telnyx adapter talks to.</summary>
public abstract class AppFixture
{
    private TelnyxStandIn? _telnyx;

    /// <summary>True for fixtures that need the Telnyx stand-in.</summary>
    protected virtual bool SendsCodes => false;

    /// <summary>Settings of this fixture's app on top of the defaults (e.g. a limit).</summary>
    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    protected AuthApp App { get; private set; } = null!;

    protected HttpClient Client { get; private set; } = null!;

    protected TelnyxStandIn Telnyx => _telnyx ?? throw new InvalidOperationException("This fixture does not send codes (SendsCodes).");

    protected DateTimeOffset Now => App.Time.GetUtcNow();

    /// <summary>An open connection of the test's own to the app's database (repository statements, observers).</summary>
    protected async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    [OneTimeSetUp]
    public void StartApp()
    {
        _telnyx = SendsCodes ? new TelnyxStandIn() : null;
        var settings = new Dictionary<string, string?>(_telnyx?.Settings ?? []);
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        App = new AuthApp(settings);
        Client = App.AdminClient();
    }

    [OneTimeTearDown]
    public void StopApp()
    {
        Client.Dispose();
        App.Dispose();
        _telnyx?.Dispose();
    }
}
