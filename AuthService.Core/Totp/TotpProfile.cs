using OtpNet;

namespace AuthService.Core.Totp;

public enum TotpAlgorithm
{
    Sha1,
    Sha256,
    Sha512,
}

/// <summary>The TOTP parameters of one factor (RFC 6238 §4, §5.2). The default is the profile every
/// authenticator app supports: SHA-1, 6 digits, 30 s.</summary>
public sealed record TotpProfile(TotpAlgorithm Algorithm, int Digits, int PeriodSeconds)
{
    public static readonly TotpProfile Default = new(TotpAlgorithm.Sha1, 6, 30);

    /// <summary>Throws for a profile no authenticator app could follow (a caller bug or a bad <c>Totp:*</c> setting, not user
    /// input), with a one-line message start-up shows as it is.</summary>
    public TotpProfile Validate()
    {
        if (!Enum.IsDefined(Algorithm)) // a number the configuration binder took for the enum (`Totp__Algorithm=7`)
        {
            throw new ArgumentException($"Totp: Algorithm must be SHA1, SHA256 or SHA512, not {Algorithm}.");
        }

        if (Digits is < 6 or > 8)
        {
            throw new ArgumentException($"Totp: TOTP codes have 6 to 8 digits, not {Digits}.");
        }

        if (PeriodSeconds is < 15 or > 300)
        {
            throw new ArgumentException($"Totp: TOTP period must be 15–300 s, not {PeriodSeconds}.");
        }

        return this;
    }

    /// <summary>The name used in otpauth URIs (<c>SHA1</c>, <c>SHA256</c>, <c>SHA512</c>).</summary>
    public string AlgorithmName => Algorithm switch
    {
        TotpAlgorithm.Sha1 => "SHA1",
        TotpAlgorithm.Sha256 => "SHA256",
        TotpAlgorithm.Sha512 => "SHA512",
        _ => throw new ArgumentOutOfRangeException(nameof(Algorithm)),
    };

    internal OtpHashMode HashMode => Algorithm switch
    {
        TotpAlgorithm.Sha1 => OtpHashMode.Sha1,
        TotpAlgorithm.Sha256 => OtpHashMode.Sha256,
        TotpAlgorithm.Sha512 => OtpHashMode.Sha512,
        _ => throw new ArgumentOutOfRangeException(nameof(Algorithm)),
    };

    /// <summary>The RFC 6238 time step T = floor(unix time / period) of an instant.</summary>
    public long StepAt(DateTimeOffset now) => now.ToUnixTimeSeconds() / PeriodSeconds;

    public static bool TryParseAlgorithm(string? name, out TotpAlgorithm algorithm)
    {
        switch (name?.ToUpperInvariant())
        {
            case "SHA1": algorithm = TotpAlgorithm.Sha1; return true;
            case "SHA256": algorithm = TotpAlgorithm.Sha256; return true;
            case "SHA512": algorithm = TotpAlgorithm.Sha512; return true;
            default: algorithm = default; return false;
        }
    }
}
