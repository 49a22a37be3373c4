using Prometheus;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>Passkey-only metrics; verifications are counted with the other methods in
/// <see cref="Observability.ServiceMetrics.Verifications"/> (method <c>passkey</c>).</summary>
public static class PasskeyMetrics
{
    public static readonly Counter CounterRegressions = Metrics.CreateCounter("authservice_passkey_counter_regressions_total",
        "Passkey assertions refused because the signature counter went backwards (possible cloned authenticator).");
}
