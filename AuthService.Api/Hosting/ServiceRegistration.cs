using AuthService.Api.ApiKeys;
using AuthService.Api.Operations;
using AuthService.Api.Configuration;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using AuthService.Core.Security;
using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using AuthService.Api.Observability;

namespace AuthService.Api.Hosting;

public static class ServiceRegistration
{
    /// <summary>The data source's name: the <c>db_client_connection_pool_name</c> label of Npgsql's metrics.</summary>
    public const string DataSourceName = "authservice";

    /// <summary>Options with their defaults in code, bound from configuration sections.</summary>
    public static IServiceCollection AddServiceOptions(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration("Auth");
        services.AddOptions<TotpOptions>().BindConfiguration("Totp")
            // A bare number reads as days (`15` is 15 days), and 0 makes every enrollment expire as it starts.
            .Validate(t => t.EnrollmentTtl >= TimeSpan.FromMinutes(1) && t.EnrollmentTtl <= TimeSpan.FromDays(1),
                "Totp: EnrollmentTtl from 1 minute to 1 day (e.g. 00:15:00).")
            .ValidateOnStart();
        services.AddOptions<EncryptionOptions>().BindConfiguration("Encryption");
        services.AddOptions<LimitsOptions>().BindConfiguration("Limits")
            .Validate(l => l.DailyRequests >= 1 && l.AttemptsPerMinute >= 1 && l.LockoutThreshold is >= 1 and <= 100,
                "Limits: DailyRequests and AttemptsPerMinute must be at least 1, LockoutThreshold 1–100 (NIST SP 800-63B §5.2.2).")
            .ValidateOnStart();
        services.AddOptions<EnforcementOptions>().BindConfiguration("Enforcement")
            .PostConfigure<IConfiguration>((o, configuration) => o.StartsAt = EnforcementOptions.StartsAtFrom(configuration["Enforcement:StartsAt"], o.StartsAt))
            .Validate(e => e.MaxSkips is null or >= 0, "Enforcement: MaxSkips must be 0 or more (unset: no limit).")
            .ValidateOnStart();
        services.AddOptions<FactorOptions>().BindConfiguration("Factors")
            .Validate(f => f.MaxTotp >= 1 && f.MaxPhone >= 1 && f.MaxPasskey >= 1, "Factors: MaxTotp, MaxPhone and MaxPasskey must be at least 1.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary><see cref="Telephony.TelephonyServiceCollectionExtensions.AddTelephony"/>, with its configuration
    /// errors turned into the one-line startup refusal.</summary>
    public static IServiceCollection AddTelephonyOrExplain(this IServiceCollection services, IConfiguration configuration,
        IHostEnvironment environment)
    {
        try
        {
            Telephony.TelephonyControlsServiceCollectionExtensions.AddTelephonyControls(services, configuration); // DESIGN §8.2: destinations, unconfirmed budget, caps
            return Telephony.TelephonyServiceCollectionExtensions.AddTelephony(services, configuration, environment);
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException(e.Message);
        }
    }

    /// <summary>The pool settings the service runs with, unless the connection string sets them itself. Public so the
    /// bench can give its "tuned ceiling" exactly the same settings. Behind PgBouncer (<paramref name="pooler"/>) nothing
    /// is prepared on the server.</summary>
    public static string TunedConnectionString(string connectionString, Pooler? pooler = null)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        bool Given(params string[] keys) => keys.Any(given.ContainsKey);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);

        // Fail fast rather than hang when the database is gone: requests answer 503 within these bounds.
        if (!Given("Timeout"))
        {
            builder.Timeout = 5;
        }

        if (!Given("Command Timeout", "CommandTimeout"))
        {
            builder.CommandTimeout = 10;
        }

        // A command that times out breaks its connection instead of waiting for PostgreSQL's answer to the cancel. A COMMIT
        // waiting for a synchronous standby (a stalled Patroni standby) answers a cancel with a WARNING ("already committed
        // locally, but might not have been replicated") and success: Npgsql's default would have the service acknowledge a
        // write that only the primary holds, which a failover then loses. Broken, the request is a 503 and nothing is claimed.
        if (!Given("Cancellation Timeout", "CancellationTimeout"))
        {
            builder.CancellationTimeout = -1;
        }

        // The login path runs the same few statements over and over: let Npgsql prepare them per connection, so
        // PostgreSQL stops parsing and planning them on every request.
        if (!Given("Max Auto Prepare", "MaxAutoPrepare") && pooler?.IsPgBouncer != true)
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        // Nothing here leaves session state on a connection (only transaction-scoped advisory locks and SET LOCAL, no
        // session SET, no temp tables, no LISTEN; the migration lock is released in a finally), so the reset Npgsql would
        // otherwise run on every return to the pool (an extra statement, i.e. PostgreSQL work, per request) buys nothing.
        if (!Given("No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

    /// <summary>One pooled <see cref="NpgsqlDataSource"/> for the process, the repositories and the key ring.</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var connectionString = configuration.GetConnectionString("Auth");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new StartupException("Database not configured: set ConnectionStrings__Auth (e.g. Host=…;Database=…;Username=…;Password=…).");
        }

        Pooler pooler;
        try
        {
            pooler = Pooler.From(configuration, connectionString);
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException(e.Message);
        }

        services.AddSingleton(pooler);
        // Named: Npgsql labels its pool and command metrics with the data source's name, which is otherwise the connection
        // string less its password (host, database, user, an SSL key's passphrase) — on /metrics, which takes no key.
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(TunedConnectionString(connectionString, pooler)) { Name = DataSourceName }.Build());
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<KeyRotation>();
        services.TryAddSingleton<ClockAgreement>(); // also Health's: the clock check records, housekeeping and the dispatcher read
        services.AddSingleton<Housekeeping>();
        services.AddHostedService(sp => sp.GetRequiredService<Housekeeping>());
        services.AddSingleton<ApiKeyService>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EncryptionOptions>>().Value;
            if (options.Keys.Count == 0 && environment.IsDevelopment())
            {
                sp.GetRequiredService<ILogger<SecretBox>>().LogWarning(
                    "No encryption key configured: using a random in-memory key; enrolled factors will not survive a restart. `make run` configures a persistent dev key.");
                options = KeyRingFactory.Ephemeral();
            }

            return KeyRingFactory.Create(options);
        });
        return services;
    }

    /// <summary>Runs before serving: checks the key ring opens, applies migrations (retrying briefly while the
    /// database starts, e.g. under docker compose) and creates the bootstrap admin key.</summary>
    public static async Task PrepareAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        // Configuration first, before anything touches the database or logs. A value the binder cannot convert
        // (`Enforcement:MaxSkips=unlimited`) throws here, as one line, instead of failing every request that reads it.
        try
        {
            _ = services.GetRequiredService<IOptions<LimitsOptions>>().Value;
            _ = services.GetRequiredService<IOptions<TotpOptions>>().Value;
            _ = services.GetRequiredService<IOptions<EnforcementOptions>>().Value;
            _ = services.GetRequiredService<IOptions<FactorOptions>>().Value;
            _ = services.GetRequiredService<IOptions<TwoFactor.Passkeys.PasskeyOptions>>().Value;
            _ = services.GetRequiredService<IOptions<Devices.DeviceOptions>>().Value;
            // Validated on start by the host too, which logs its own error line before the refusal: checked here first.
            _ = services.GetRequiredService<IOptions<AuthOptions>>().Value;
            _ = services.GetRequiredService<IOptions<Health.HealthOptions>>().Value;
            _ = services.GetRequiredService<IOptions<Webhooks.WebhookOptions>>().Value;
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException(e.Message);
        }

        var bootstrapKey = services.GetRequiredService<IOptions<AuthOptions>>().Value.BootstrapAdminKey;
        if (!string.IsNullOrWhiteSpace(bootstrapKey) &&
            (bootstrapKey.Length < 32 || bootstrapKey.Contains("CHANGE-ME", StringComparison.OrdinalIgnoreCase)))
        {
            // An admin key is a bearer secret: refuse placeholders and anything guessable.
            throw new StartupException("Auth:BootstrapAdminKey must be at least 32 random characters (e.g. `openssl rand -base64 32`).");
        }

        _ = services.GetRequiredService<SecretBox>();
        var migrations = services.GetRequiredService<MigrationRunner>();
        var time = services.GetRequiredService<TimeProvider>();
        var deadline = DateTime.UtcNow.AddSeconds(services.GetRequiredService<IConfiguration>().GetValue("Database:StartupWaitSeconds", 15));
        while (true)
        {
            try
            {
                await migrations.ApplyAsync(cancellationToken);
                break;
            }
            catch (NpgsqlException e) when (e is not PostgresException)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new StartupException($"Database unreachable: {e.Message} (check ConnectionStrings__Auth).");
                }

                await Task.Delay(500, cancellationToken);
            }
        }

        await services.GetRequiredService<KeyRotation>().CheckAsync(cancellationToken);

        if (!string.IsNullOrWhiteSpace(bootstrapKey))
        {

            await services.GetRequiredService<ApiKeyService>().EnsureBootstrapKeyAsync(bootstrapKey, time.GetUtcNow(), cancellationToken);
        }
    }
}
