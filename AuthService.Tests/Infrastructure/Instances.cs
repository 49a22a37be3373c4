using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Infrastructure;

/// <summary>Real AuthService processes in Production, configured only by environment variables, with Telnyx
/// pointed at a <see cref="TelnyxStandIn"/>. The processes run on the system clock.</summary>
public static class Instances
{
    public const string AdminKey = "ask_hardening_admin_key_abcdefghijklmnop";

    /// <summary>One key for every instance of a test, so a secret sealed by one opens in the other.</summary>
    public static readonly string EncryptionKey = Convert.ToBase64String(SHA256.HashData("authservice-hardening"u8));

    public static Dictionary<string, string?> Production(string connectionString, TelnyxStandIn? telnyx,
        IDictionary<string, string?>? overrides = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ConnectionStrings__Auth"] = connectionString,
            ["Encryption__ActiveKeyId"] = "hard1",
            ["Encryption__Keys__hard1"] = EncryptionKey,
            // The shared test database also holds values sealed by the in-process tests' key; the start-up check
            // rightly refuses a ring that cannot open them.
            ["Encryption__Keys__k1"] = AuthApp.EncryptionKey,
            ["Auth__BootstrapAdminKey"] = AdminKey,
            ["Telephony__Provider"] = "telnyx",
            ["Telephony__Telnyx__BaseUrl"] = "http://127.0.0.1:9/v2",
            ["Telephony__Telnyx__ApiKey"] = "KEY-test",
            ["Telephony__Telnyx__FromNumber"] = "+13035550100",
            // The caps count every delivery of the shared test database (see AuthApp); cap tests set their own.
            ["Telephony__Caps__Daily"] = "1000000",
            ["Telephony__Caps__PerCountryHourly"] = "1000000",
            // The stand-ins answer sends only; the number check (issue 25) is tested in process (NumberCheckTests).
            ["NumberLookup__Enabled"] = "false",
        };
        foreach (var (key, value) in telnyx?.Settings ?? [])
        {
            environment[key.Replace(":", "__")] = value;
        }

        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return environment;
    }

    public static async Task<ServiceProcess> StartAsync(Dictionary<string, string?> environment)
    {
        var service = ServiceProcess.Start(environment);
        if (!await service.WaitReadyAsync(TimeSpan.FromSeconds(60)))
        {
            var output = service.Output;
            await service.DisposeAsync();
            Assert.Fail("the service did not become ready:\n" + output);
        }

        return service;
    }

    /// <summary>Now, unless a TOTP step ends within 2 s: then the start of the next step, so a code computed here is
    /// still current when every request of a race has reached the service.</summary>
    public static async Task<DateTimeOffset> SafeTotpMomentAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var intoStep = now.ToUnixTimeMilliseconds() % 30_000;
        if (intoStep > 28_000)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(30_000 - intoStep + 50));
        }

        return DateTimeOffset.UtcNow;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    public static async Task<(T Value, double Milliseconds)> TimedAsync<T>(Func<Task<T>> operation)
    {
        var watch = Stopwatch.StartNew();
        var value = await operation();
        return (value, watch.Elapsed.TotalMilliseconds);
    }
}

/// <summary>A throwaway PostgreSQL cluster of one test, which it may stop and start (scripts/pg.sh).</summary>
public sealed class OwnCluster : IDisposable
{
    private readonly string _name;
    private readonly int _port;

    public OwnCluster(string name, int port)
    {
        _name = name;
        Run("destroy", name); // a fresh cluster every run, whatever an earlier run left behind
        ServerConnectionString = Run("start", name, port.ToString()).Trim();
        // pg.sh moves on to the next port when the one asked for is taken: restarts must come back where the service
        // under test was told to connect, not to the port first asked for.
        _port = new NpgsqlConnectionStringBuilder(ServerConnectionString).Port;
    }

    public string ServerConnectionString { get; }

    private bool _stopped;

    public void Stop()
    {
        _stopped = true;
        Run("stop", _name);
    }

    /// <summary>Starts the cluster if a test stopped it and did not get to start it again (its assertion failed while it was down).</summary>
    public void EnsureRunning()
    {
        if (_stopped)
        {
            Start();
        }
    }

    /// <summary>Starts the stopped cluster again on its port. pg.sh would move a taken port on; that would leave the service
    /// pointing at nothing, so it fails here, where the cause is plain.</summary>
    public void Start()
    {
        var again = Run("start", _name, _port.ToString()).Trim();
        _stopped = false;
        Assert.That(again, Is.EqualTo(ServerConnectionString), $"cluster {_name} came back on another port: port {_port} was taken while it was stopped");
    }

    public void Dispose() => Run("destroy", _name);

    private static string Run(params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(Repo.Root, "scripts", "pg.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repo.Root,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, $"pg.sh {string.Join(' ', args)}: {error.Result}");
        return output.Result;
    }
}
