using AuthService.Api.Configuration;
using AuthService.Api.Telephony;

namespace AuthService.Api.Profiles;

/// <summary>Registers the verify profiles (<see cref="VerifyProfiles"/>), read and validated now: a bad profile stops start-up.</summary>
public static class ProfilesServiceCollectionExtensions
{
    public static IServiceCollection AddVerifyProfiles(this IServiceCollection services, IConfiguration configuration)
    {
        var auth = configuration.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        var totp = configuration.GetSection("Totp").Get<TotpOptions>() ?? new TotpOptions();
        VerifyProfiles profiles;
        try
        {
            profiles = VerifyProfiles.FromConfiguration(configuration, TelephonyControls.FromConfiguration(configuration), auth.Issuer,
                totp.Profile);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new StartupException(e.Message);
        }

        services.AddSingleton(profiles);
        return services;
    }

    /// <summary>The request's profile (<see cref="ProfileContext"/>), else the default.</summary>
    public static VerifyProfile Current(this VerifyProfiles profiles) => ProfileContext.Profile ?? profiles.Default;
}
