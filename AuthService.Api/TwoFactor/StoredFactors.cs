using AuthService.Api.Storage;
using AuthService.Core.Security;
using AuthService.Core.Totp;

namespace AuthService.Api.TwoFactor;

/// <summary>Reading the secrets and TOTP profile of a stored factor or pending row (sealed under <see cref="SealContexts"/>).</summary>
public static class StoredFactors
{
    public static byte[] OpenTotpSecret(this SecretBox secrets, FactorRow factor) => secrets.OpenTotpSecret(factor.UserId, factor.TotpSecret);

    public static byte[] OpenTotpSecret(this SecretBox secrets, PendingRow pending) => secrets.OpenTotpSecret(pending.UserId, pending.TotpSecret);

    public static string OpenPhoneNumber(this SecretBox secrets, FactorRow factor) =>
        secrets.OpenString(factor.PhoneNumber ?? throw new InvalidOperationException("Phone factor without a number."),
            SealContexts.PhoneNumber(factor.UserId));

    public static TotpProfile Profile(this FactorRow factor) => ProfileOf(factor.TotpAlgorithm, factor.TotpDigits, factor.TotpPeriod);

    public static TotpProfile Profile(this PendingRow pending) => ProfileOf(pending.TotpAlgorithm, pending.TotpDigits, pending.TotpPeriod);

    private static byte[] OpenTotpSecret(this SecretBox secrets, string userId, byte[]? sealedSecret) =>
        secrets.Open(sealedSecret ?? throw new InvalidOperationException("TOTP factor without a secret."), SealContexts.TotpSecret(userId));

    private static TotpProfile ProfileOf(string? algorithm, int? digits, int? period) =>
        TotpProfile.TryParseAlgorithm(algorithm, out var parsed)
            ? new TotpProfile(parsed, digits ?? 6, period ?? 30)
            : throw new InvalidOperationException($"Unknown stored TOTP algorithm '{algorithm}'.");
}
