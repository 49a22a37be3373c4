using Fido2NetLib;
using Microsoft.Extensions.Options;

namespace AuthService.Api.TwoFactor.Passkeys;

public static class PasskeyRegistration
{
    /// <summary>Options checked at start, the Fido2 verifier, the passkey use cases and their OpenAPI examples.</summary>
    public static IServiceCollection AddPasskeys(this IServiceCollection services)
    {
        services.AddOptions<PasskeyOptions>().BindConfiguration("Passkeys").ValidateOnStart();
        services.AddSingleton<IValidateOptions<PasskeyOptions>, PasskeyOptionsValidator>();
        services.AddSingleton<IFido2>(sp => new Fido2(sp.GetRequiredService<IOptions<PasskeyOptions>>().Value.ToFido2()));
        services.AddSingleton<PasskeyCeremonies>();
        services.AddSingleton<Methods.IFactorMethod, PasskeyMethod>();
        services.AddSingleton<PasskeyEnrollment>();
        services.AddSingleton<PasskeyVerification>();
        services.ConfigureSwaggerGen(o => o.SchemaFilter<PasskeyExamplesFilter>());
        return services;
    }

    /// <summary>Says exactly what is wrong, so the one-line startup refusal is useful.</summary>
    private sealed class PasskeyOptionsValidator : IValidateOptions<PasskeyOptions>
    {
        public ValidateOptionsResult Validate(string? name, PasskeyOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
