using AuthService.Api.Storage;
using AuthService.Core.Security;
using AuthService.Core.Totp;

namespace AuthService.Api.TwoFactor;

/// <summary>A stored factor this instance cannot use: its TOTP algorithm is unknown here (or its secret missing). Like a
/// <see cref="System.Security.Cryptography.CryptographicException"/> from a key this instance's ring lacks, it fails that
/// user's request alone with 503 <c>secret_unavailable</c>.</summary>
public sealed class UnreadableFactorException(string message) : System.Security.Cryptography.CryptographicException(message);

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
        secrets.Open(sealedSecret ?? throw new UnreadableFactorException("TOTP factor without a secret."), SealContexts.TotpSecret(userId));

    private static TotpProfile ProfileOf(string? algorithm, int? digits, int? period) =>
        TotpProfile.TryParseAlgorithm(algorithm, out var parsed)
            ? new TotpProfile(parsed, digits ?? 6, period ?? 30)
            : throw new UnreadableFactorException($"Unknown stored TOTP algorithm '{algorithm}'.");

    /// <summary>True for the failures of <see cref="OpenTotpSecret(SecretBox, FactorRow)"/> and <see cref="Profile(FactorRow)"/>
    /// that say "this instance cannot use that factor", not "the request is wrong".</summary>
    public static bool IsUnreadable(Exception e) => e is System.Security.Cryptography.CryptographicException or UnreadableFactorException;
}
