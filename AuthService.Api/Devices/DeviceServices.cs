namespace AuthService.Api.Devices;

public static class DeviceServices
{
    /// <summary><c>Devices:*</c> (validated at start) and the use cases of remembered devices.</summary>
    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<DeviceOptions>().BindConfiguration("Devices")
            .Validate(o => o.IsValid, $"Devices: RememberDays must be 1–{DeviceOptions.MaxRememberDays} (a remembered browser is AAL1 only), MaxPerUser 1–1000.")
            .ValidateOnStart();
        services.AddSingleton<RememberDevice>();
        services.AddSingleton<TrustedDevices>();
        services.AddSingleton<DeviceManagement>();
        return services;
    }
}
