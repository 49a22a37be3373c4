namespace AuthService.Api.Support;

public static class SupportServices
{
    /// <summary>The use cases of <see cref="SupportApi"/>.</summary>
    public static IServiceCollection AddSupport(this IServiceCollection services)
    {
        services.AddSingleton<SupportReset>();
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<BypassCodes>();
        return services;
    }
}
