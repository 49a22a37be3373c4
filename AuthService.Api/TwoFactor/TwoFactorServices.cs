using AuthService.Api.TwoFactor.Methods;
using AuthService.Api.TwoFactor.Methods.Phone;
using AuthService.Api.TwoFactor.Methods.Totp;

namespace AuthService.Api.TwoFactor;

public static class TwoFactorServices
{
    /// <summary>The use cases of <see cref="TwoFactorApi"/> and the parts they share (proofs, pending factors, code delivery).</summary>
    public static IServiceCollection AddTwoFactor(this IServiceCollection services)
    {
        services.AddSingleton<ProofCheck>();
        services.AddSingleton<CodeProofs>();
        // The factor methods, in the order a code is tried (passkeys register theirs in AddPasskeys).
        services.AddSingleton<IFactorMethod, TotpMethod>();
        services.AddSingleton<IFactorMethod, PhoneMethod>();
        services.AddSingleton<FactorMethodRegistry>();
        services.AddSingleton<ChangeProofs>();
        services.AddSingleton<PendingConfirmation>();
        services.AddSingleton<PendingFactors>();
        services.AddSingleton<PhoneCodeDelivery>();
        services.AddSingleton<PhoneDeliveries>();
        services.AddSingleton<IdempotentRequests>();
        services.AddSingleton<Status>();
        services.AddSingleton<Enroll>();
        services.AddSingleton<ConfirmWithCode>();
        services.AddSingleton<SwitchMethod>();
        services.AddSingleton<Challenge>();
        services.AddSingleton<BackupCodes>();
        services.AddSingleton<Factors>();
        return services;
    }
}
