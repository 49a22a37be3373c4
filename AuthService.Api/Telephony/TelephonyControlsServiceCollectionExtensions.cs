namespace AuthService.Api.Telephony;

/// <summary>Registers the telephony controls (<see cref="TelephonyControls"/>).</summary>
public static class TelephonyControlsServiceCollectionExtensions
{
    /// <summary>Validates the controls now (a bad value refuses to start) and registers them for the send path
    /// (<c>TwoFactor/PhoneDeliveries</c>, registered with the two-factor use cases).</summary>
    public static IServiceCollection AddTelephonyControls(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TelephonyControls.FromConfiguration(configuration));
        return services;
    }
}
