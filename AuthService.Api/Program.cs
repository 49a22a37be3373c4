using AuthService.Api.Operations;
using AuthService.Api.ApiKeys;
using AuthService.Api.Configuration;
using AuthService.Api.Devices;
using AuthService.Api.Health;
using AuthService.Api.NumberLookup;
using AuthService.Api.Hosting;
using AuthService.Api.Http;
using AuthService.Api.Observability;
using AuthService.Api.TwoFactor.Passkeys;
using AuthService.Api.Policy;
using AuthService.Api.Profiles;
using AuthService.Api.Security;
using AuthService.Api.SmsFallback;
using AuthService.Api.Storage;
using AuthService.Api.Support;
using AuthService.Api.SupportConsole;
using AuthService.Api.TwoFactor;
using AuthService.Api.Webhooks;
using Serilog;

if (args is ["healthcheck", ..])
{
    // The container HEALTHCHECK: the runtime image has no curl, so the service probes itself.
    return await SelfCheck.RunAsync(Environment.GetEnvironmentVariable("ASPNETCORE_URLS"));
}

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 64 * 1024);
    // Read each request at once instead of first peeking for it (one receive call fewer per request; an idle keep-alive
    // connection holds a pooled 4 KB buffer instead of none). Issue 27, docs/SCALING.md.
    builder.WebHost.UseSockets(sockets => sockets.WaitForDataBeforeAllocatingBuffer = false);

    builder.AddServiceLogging();                 // Serilog, nothing secret in it
    builder.Services.AddServiceOptions();        // Auth, Totp, Encryption, Limits, Enforcement
    builder.Services.AddStorage(builder.Configuration, builder.Environment); // PostgreSQL, migrations, key ring
    builder.Services.AddTelephonyOrExplain(builder.Configuration, builder.Environment); // Telnyx (Polly) or dev log
    builder.Services.AddVerifyProfiles(builder.Configuration); // Profiles:{name}: brand, code length, locales (DESIGN §9.5)
    builder.Services.AddNumberLookup(builder.Configuration, builder.Environment); // NumberLookup:*: the number check (issue 25)
    builder.Services.AddTwoFactor();             // the use cases of /v1/users/{userId}/two-factor
    builder.Services.AddSmsFallback(builder.Configuration); // Telnyx delivery reports → SmsThenCall offers a call (DESIGN §9.5)
    builder.Services.AddPasskeys();              // WebAuthn relying party (Fido2), checked at start
    builder.Services.AddDevices();               // remembered devices (DESIGN §9.3), Devices:* checked at start
    builder.Services.AddLoginPolicy();           // the use cases of /v1/login-decisions and the prompt skip
    builder.Services.AddSupport();               // the support reset and the audit trail
    builder.Services.AddErrorHandling();         // problem+json for every failure
    builder.Services.AddStrictJson();            // unknown request fields → 400 unknown_field (DESIGN §9.6)
    builder.Services.AddApiKeyAuthentication();  // Bearer API keys with scopes
    builder.Services.AddHealth();
    builder.Services.AddApiDocs();
    builder.Services.AddWebhooks(builder.Environment); // security events to the portal: outbox, dispatcher, endpoints

    var app = builder.Build();

    if (args.Contains("migrate"))
    {
        var applied = await app.Services.GetRequiredService<MigrationRunner>().ApplyAsync();
        Console.WriteLine($"Migrations applied: {applied}; schema is up to date.");
        return 0;
    }

    if (args.Contains("rotate-keys"))
    {
        await app.Services.PrepareAsync();
        var rotation = app.Services.GetRequiredService<KeyRotation>();
        var rotated = await rotation.RotateAsync(default);
        string PerKey(IReadOnlyDictionary<string, long> counts) =>
            counts.Count == 0 ? "none" : string.Join(", ", counts.Select(kv => $"{kv.Key}: {kv.Value}"));
        var all = await rotation.CountByKeyAsync(default);
        var sealedValues = await rotation.CountByKeyAsync(default, sealedOnly: true);
        var liveCodes = all.Select(kv => (kv.Key, Value: kv.Value - sealedValues.GetValueOrDefault(kv.Key)))
            .Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value);
        // Sealed values under an old key after the passes: run it again. Live codes under it: keep the key until they expire.
        Console.WriteLine($"Re-sealed {rotated} values. Stored values per key: {PerKey(all)}. Sealed values per key: {PerKey(sealedValues)}; " +
                          $"live codes hashed per key: {PerKey(liveCodes)}.");
        return 0;
    }

    await app.Services.PrepareAsync();

    app.UseServiceRequestLogging();              // outermost, so it logs the status the client really got
    app.UseNoStore();                            // no answer under /v1 is cached: several carry a secret shown once
    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseApiDocs();
    app.UseRouting();
    app.UseServiceMetrics();                     // /metrics, request latency by route
    app.UseExceptionHandler();                   // again, inside the metrics: they count the problem's status, not the 200 an exception passes them with
    app.UseAuthentication();
    app.UseAuthorization();
    app.UseJsonCharset();                        // a body's charset: UTF-8 or 415, never the framework's 500
    app.UseVerifyProfiles();                     // the caller key's verify profile, for the send path

    app.MapHealth();
    app.MapServiceMetrics();
    app.MapTwoFactor();
    app.MapLoginPolicy();
    app.MapDevices();
    app.MapSupport();
    app.MapApiKeys();
    app.MapWebhooks();
    app.MapSmsFallback();                  // POST /telnyx/messaging-events, signed by Telnyx (no API key)
    app.MapConsole(app.Configuration);     // the support console, only with Console:Enabled=true

    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is StartupException or Microsoft.Extensions.Options.OptionsValidationException)
{
    Console.Error.WriteLine($"AuthService cannot start: {e.Message}");
    return 1;
}
catch (InvalidOperationException e) when (e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
{
    // A value the configuration binder cannot read (`Auth__ApiKeyCacheSeconds=five`, `Health__MaxClockSkew=2s`), wherever it is
    // first read: the binder's message names the key and the value.
    Console.Error.WriteLine($"AuthService cannot start: {e.Message}");
    return 1;
}
catch (Npgsql.PostgresException e)
{
    // The database answered, and refused (a database or role that does not exist, a wrong password, a migration it cannot
    // apply): retrying cannot help, so one line that says what it said, not a stack trace.
    Console.Error.WriteLine($"AuthService cannot start: PostgreSQL refused it ({e.SqlState}: {e.MessageText}); check ConnectionStrings__Auth and the role's rights.");
    return 1;
}

public partial class Program;
