namespace AuthService.Api.TwoFactor;

public static class TwoFactorServices
{
    /// <summary>The use cases of <see cref="TwoFactorApi"/> and the parts they share (proofs, pending factors, code delivery).</summary>
    public static IServiceCollection AddTwoFactor(this IServiceCollection services)
    {
        services.AddSingleton<ProofCheck>();
        services.AddSingleton<ChangeProofs>();
        services.AddSingleton<PendingConfirmation>();
        services.AddSingleton<PendingFactors>();
        services.AddSingleton<PhoneCodeDelivery>();
        services.AddSingleton<PhoneDeliveries>();
        services.AddSingleton<IdempotentRequests>();
        services.AddSingleton<MethodRequests>();
        services.AddSingleton<Status>();
        services.AddSingleton<Enroll>();
        services.AddSingleton<ConfirmWithCode>();
        services.AddSingleton<SwitchMethod>();
        services.AddSingleton<Challenge>();
        services.AddSingleton<BackupCodes>();
        services.AddSingleton<FactorStarts>();
        services.AddSingleton<Factors>();
        return services;
    }
}
