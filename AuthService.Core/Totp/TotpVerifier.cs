using OtpNet;

namespace AuthService.Core.Totp;

/// <summary>Outcome of checking one TOTP code. <see cref="Step"/> is the matched RFC 6238 time step;
/// storage must record it so that neither it nor any earlier step is accepted again.</summary>
public readonly record struct TotpCheck(bool Accepted, long Step, int DriftSteps)
{
    public static readonly TotpCheck Rejected = new(false, -1, 0);
}

/// <summary>RFC 6238 verification through Otp.NET.</summary>
public static class TotpVerifier
{
    /// <summary>One step either side of now, as RFC 6238 §5.2 recommends for clock drift and typing delay.</summary>
    public const int WindowSteps = 1;

    /// <summary>Checks <paramref name="code"/> against the steps now−1 … now+1 that are later than
    /// <paramref name="lastAcceptedStep"/> (RFC 6238 §5.2: a step is accepted at most once). Whitespace
    /// inside the code is ignored; anything else that is not exactly the profile's digits is rejected.</summary>
    public static TotpCheck Verify(byte[] secret, TotpProfile profile, string? code, DateTimeOffset now, long lastAcceptedStep)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(profile);
        if (!TryNormalizeCode(code, profile.Digits, out var digits))
        {
            return TotpCheck.Rejected;
        }

        var totp = new OtpNet.Totp(secret, profile.PeriodSeconds, profile.HashMode, profile.Digits);
        if (!totp.VerifyTotp(now.UtcDateTime, digits, out var step, new VerificationWindow(WindowSteps, WindowSteps)))
        {
            return TotpCheck.Rejected;
        }

        if (step <= lastAcceptedStep)
        {
            return TotpCheck.Rejected;
        }

        return new TotpCheck(true, step, (int)(step - profile.StepAt(now)));
    }

    /// <summary>The code an authenticator app shows at <paramref name="at"/> (used by tests and tools).</summary>
    public static string Compute(byte[] secret, TotpProfile profile, DateTimeOffset at) =>
        new OtpNet.Totp(secret, profile.PeriodSeconds, profile.HashMode, profile.Digits).ComputeTotp(at.UtcDateTime);

    internal static bool TryNormalizeCode(string? code, int digits, out string normalized)
    {
        normalized = string.Empty;
        if (code is null || code.Length > 32)
        {
            return false;
        }

        Span<char> buffer = stackalloc char[32];
        var length = 0;
        foreach (var c in code)
        {
            if (c == ' ')
            {
                continue;
            }

            if (!char.IsAsciiDigit(c) || length == digits)
            {
                return false;
            }

            buffer[length++] = c;
        }

        if (length != digits)
        {
            return false;
        }

        normalized = new string(buffer[..length]);
        return true;
    }
}
