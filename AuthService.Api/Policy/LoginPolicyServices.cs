namespace AuthService.Api.Policy;

public static class LoginPolicyServices
{
    /// <summary>The use cases of <see cref="LoginDecisionsApi"/>.</summary>
    public static IServiceCollection AddLoginPolicy(this IServiceCollection services)
    {
        services.AddSingleton<LoginDecisions>();
        services.AddSingleton<PromptSkips>();
        return services;
    }
}
