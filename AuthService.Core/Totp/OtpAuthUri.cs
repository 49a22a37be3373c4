namespace AuthService.Core.Totp;

/// <summary>Builds provisioning URIs per the Google Authenticator Key Uri Format:
/// <c>otpauth://totp/{Issuer}:{account}?secret=…&amp;issuer={Issuer}&amp;algorithm=SHA1&amp;digits=6&amp;period=30</c>.</summary>
public static class OtpAuthUri
{
    public static string Build(string issuer, string accountName, byte[] secret, TotpProfile profile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issuer);
        ArgumentException.ThrowIfNullOrWhiteSpace(accountName);
        if (issuer.Contains(':'))
        {
            // The colon separates issuer and account in the label; apps would split it wrongly.
            throw new ArgumentException("The issuer must not contain ':'.", nameof(issuer));
        }

        if (accountName.Contains(':'))
        {
            // Key Uri Format: "Neither issuer nor account name may themselves contain a colon", not even as %3A.
            throw new ArgumentException("The account name must not contain ':'.", nameof(accountName));
        }

        var encodedIssuer = Uri.EscapeDataString(issuer);
        return $"otpauth://totp/{encodedIssuer}:{Uri.EscapeDataString(accountName)}" +
               $"?secret={TotpSecrets.ToBase32(secret)}&issuer={encodedIssuer}" +
               $"&algorithm={profile.AlgorithmName}&digits={profile.Digits}&period={profile.PeriodSeconds}";
    }
}
