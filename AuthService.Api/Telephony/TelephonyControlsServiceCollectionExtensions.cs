namespace AuthService.Api.Telephony;

/// <summary>Registers the telephony controls (<see cref="TelephonyControls"/>).</summary>
public static class TelephonyControlsServiceCollectionExtensions
{
    /// <summary>Validates the controls now (a bad value refuses to start) and registers them with the send path.</summary>
    public static IServiceCollection AddTelephonyControls(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TelephonyControls.FromConfiguration(configuration));
        services.AddSingleton<TwoFactor.PhoneDeliveries>();
        return services;
    }
}
