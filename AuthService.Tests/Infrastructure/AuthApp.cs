using AuthService.Api.Operations;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Hosting;
using AuthService.Tests.Infrastructure.Contract;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace AuthService.Tests.Infrastructure;

/// <summary>The real service on a real PostgreSQL, with only the clock swapped for a <see cref="FakeTimeProvider"/>.
/// Settings can be overridden per fixture.</summary>
public sealed class AuthApp : WebApplicationFactory<Program>
{
    public const string AdminKey = "ask_test_bootstrap_admin_key_0123456789";

    private readonly Dictionary<string, string?> _settings;

    public AuthApp(IDictionary<string, string?>? settings = null, string? connectionString = null, string environment = "Development")
    {
        ConnectionString = connectionString ?? TestDatabase.ConnectionString;
        Environment = environment;
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Auth"] = ConnectionString,
            ["Auth:BootstrapAdminKey"] = AdminKey,
            ["Encryption:ActiveKeyId"] = "k1",
            ["Encryption:Keys:k1"] = EncryptionKey,
            // Fixtures share one database, and the multi-process tests (Instances) seal under their own key: an app started after
            // them must open those values too (the start-up key check rightly refuses a ring that cannot).
            ["Encryption:Keys:hard1"] = Instances.EncryptionKey,
            ["Telephony:Provider"] = "log",
            ["Serilog:MinimumLevel:Default"] = "Warning",
            // Fixtures share one database but each has its own fake clock: a background prune driven by one clock
            // would expire another fixture's rows. HousekeepingTests calls PruneAsync itself.
            ["Database:Housekeeping"] = "false",
            // The deployment-wide telephony caps count every delivery in the database, and fixtures share one database
            // and one fake start time: caps are tested on databases of their own (TelephonyCapsTests).
            ["Telephony:Caps:Daily"] = "1000000",
            ["Telephony:Caps:PerCountryHourly"] = "1000000",
            // Likewise webhook dispatch: a dispatcher on another fixture's clock would send (or give up) this one's
            // deliveries. WebhookTests drive WebhookDispatcher.DispatchOnceAsync themselves.
            ["Webhooks:Dispatch"] = "false",
            // Readiness compares the app's clock with the database's (Health:MaxClockSkew), and this fake clock starts on
            // 2026-03-02 whatever the database's says: off here; HealthTests turn it on and set the fake clock from the
            // database's. Real processes (Instances, ProductionInstanceTests, bench, ha) keep it on.
            ["Health:ClockSkewCheck"] = "false",
            // The number check (issue 25) is on by default with Telnyx, and fixtures point Telnyx at stand-ins that answer only
            // sends: off here; NumberCheckTests turn it on and answer the lookups.
            ["NumberLookup:Enabled"] = "false",
        };
        if (TestDatabase.Pooler is { } pooler)
        {
            _settings["Database:Pooler"] = pooler;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                _settings.Remove(key); // null removes a default setting
            }
            else
            {
                _settings[key] = value;
            }
        }
    }

    /// <summary>A fixed key so secrets written by one app instance open in another of the same run.</summary>
    public static readonly string EncryptionKey = Convert.ToBase64String(SHA256.HashData("authservice-tests"u8));

    public string ConnectionString { get; }

    /// <summary>The host environment: Development unless a test checks what holds everywhere else (fail-safe defaults).</summary>
    public string Environment { get; }

    /// <summary>Starts at a step boundary so tests can reason in whole TOTP periods.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(Environment);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(Time);
        });
    }

    /// <summary>A client of the in-process app whose every answer is checked against openapi.yaml
    /// (<see cref="ContractCheckingHandler"/>); it follows redirects and keeps cookies like the factory's own client.</summary>
    public new HttpClient CreateClient() =>
        CreateDefaultClient(new Uri("http://localhost"), new ContractCheckingHandler(), new RedirectHandler(), new CookieContainerHandler());

    public HttpClient ClientWithKey(string? apiKey)
    {
        var client = CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public HttpClient AdminClient() => ClientWithKey(AdminKey);

    /// <summary>A client whose key has exactly these scopes, created through the API.</summary>
    public async Task<HttpClient> ClientWithScopesAsync(params string[] scopes)
    {
        using var admin = AdminClient();
        var response = await admin.PostAsJsonAsync("/v1/api-keys", new { name = "test " + string.Join("+", scopes), scopes });
        response.EnsureSuccessStatusCode();
        var created = await response.Content.ReadFromJsonAsync<CreatedKey>();
        return ClientWithKey(created!.Key);
    }

    public static string NewUserId(string prefix = "user") => $"{prefix}-{Guid.NewGuid():N}";

    private sealed record CreatedKey(Guid Id, string Key);
}
