using AuthService.Api.Configuration;
using AuthService.Api.Telephony;

namespace AuthService.Api.NumberLookup;

public static class NumberLookupServices
{
    /// <summary>Registers the number check (<see cref="NumberLookupSettings"/> read and validated now: a bad value stops
    /// start-up) and, when Telnyx is the sender, its Number Lookup client on the sender's HttpClient. Call after
    /// <c>AddTelephony</c>.</summary>
    public static IServiceCollection AddNumberLookup(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var telnyx = TelephonyServiceCollectionExtensions.ProviderOf(configuration, environment) == TelephonyOptions.Telnyx;
        NumberLookupSettings settings;
        try
        {
            settings = NumberLookupSettings.FromConfiguration(configuration, telnyx);
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException(e.Message);
        }

        services.AddSingleton(settings);
        if (settings.Enabled)
            services.AddSingleton<INumberLookup, TelnyxNumberLookup>();
        else
            services.AddSingleton<INumberLookup, NoNumberLookup>();
        services.AddSingleton<NumberCheck>();
        return services;
    }
}
