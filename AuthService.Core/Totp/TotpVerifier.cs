using System.Buffers.Binary;
using System.Security.Cryptography;

namespace AuthService.Core.Totp;

/// <summary>Outcome of checking one TOTP code. <see cref="Step"/> is the matched RFC 6238 time step;
/// storage must record it so that neither it nor any earlier step is accepted again. <see cref="Replayed"/>: refused, but
/// right for a step already used (a replay, ASVS 2.8.5, worth telling apart in the audit trail).</summary>
public readonly record struct TotpCheck(bool Accepted, long Step, int DriftSteps, bool Replayed = false)
{
    public static readonly TotpCheck Rejected = new(false, -1, 0);
}

/// <summary>RFC 6238 verification. The hot path is RFC 4226 §5.3 written out over stack buffers — three HMACs and
/// no allocation — because it runs on every login; <see cref="Compute"/> goes through Otp.NET, and the tests hold the
/// two to each other on every algorithm.</summary>
public static class TotpVerifier
{
    /// <summary>One step either side of now, as RFC 6238 §5.2 recommends for clock drift and typing delay.</summary>
    public const int WindowSteps = 1;

    private static readonly int[] PowersOfTen = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

    /// <summary>Checks <paramref name="code"/> against the steps now−1 … now+1 that are later than
    /// <paramref name="lastAcceptedStep"/> (RFC 6238 §5.2: a step is accepted at most once); of several matching
    /// steps the latest wins. Two steps share a 6-digit code with probability 1e-6: recording the earlier one would leave
    /// the later one open, and the same code would be accepted a second time inside its own window. Recording the latest
    /// means an accepted code can only match again at a step that was outside the window when it was accepted (a
    /// coincidence as likely as guessing). Spaces inside the code are ignored; anything else that is not exactly the
    /// profile's digits is rejected. All three steps are always computed, so timing does not tell which one matched.</summary>
    public static TotpCheck Verify(ReadOnlySpan<byte> secret, TotpProfile profile, ReadOnlySpan<char> code, DateTimeOffset now,
        long lastAcceptedStep)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (!TryParseCode(code, profile.Digits, out var expected))
        {
            return TotpCheck.Rejected;
        }

        var current = profile.StepAt(now);
        var result = TotpCheck.Rejected;
        var matchedUsedStep = false;
        for (var drift = -WindowSteps; drift <= WindowSteps; drift++)
        {
            var step = current + drift;
            var matches = step >= 0 && Hotp(secret, profile, step) == expected;
            if (matches && step > lastAcceptedStep)
            {
                result = new TotpCheck(true, step, drift);
            }

            matchedUsedStep |= matches && step <= lastAcceptedStep;
        }

        return result.Accepted || !matchedUsedStep ? result : result with { Replayed = true };
    }

    public static TotpCheck Verify(byte[] secret, TotpProfile profile, string? code, DateTimeOffset now, long lastAcceptedStep) =>
        code is null ? TotpCheck.Rejected : Verify(secret.AsSpan(), profile, code.AsSpan(), now, lastAcceptedStep);

    /// <summary>The code an authenticator app shows at <paramref name="at"/> (Otp.NET; used by tests and tools).</summary>
    public static string Compute(byte[] secret, TotpProfile profile, DateTimeOffset at) =>
        new OtpNet.Totp(secret, profile.PeriodSeconds, profile.HashMode, profile.Digits).ComputeTotp(at.UtcDateTime);

    /// <summary>The code an authenticator app shows in <paramref name="step"/>, by the same hot path as
    /// <see cref="Verify(ReadOnlySpan{byte}, TotpProfile, ReadOnlySpan{char}, DateTimeOffset, long)"/> (the bench's load
    /// client; the tests hold it to <see cref="Compute"/>).</summary>
    public static string CodeAt(ReadOnlySpan<byte> secret, TotpProfile profile, long step)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return Hotp(secret, profile, step).ToString(DigitFormats[profile.Digits], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static readonly string[] DigitFormats = PowersOfTen.Select((_, digits) => "D" + digits).ToArray();

    /// <summary>RFC 4226 §5.3: HMAC of the big-endian counter, dynamic truncation, modulo 10^digits.</summary>
    private static int Hotp(ReadOnlySpan<byte> secret, TotpProfile profile, long counter)
    {
        Span<byte> message = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(message, counter);
        Span<byte> hash = stackalloc byte[64];
        var length = profile.Algorithm switch
        {
            TotpAlgorithm.Sha1 => HMACSHA1.HashData(secret, message, hash),
            TotpAlgorithm.Sha256 => HMACSHA256.HashData(secret, message, hash),
            _ => HMACSHA512.HashData(secret, message, hash),
        };
        var offset = hash[length - 1] & 0x0f;
        var binary = (BinaryPrimitives.ReadInt32BigEndian(hash[offset..]) & 0x7fffffff);
        return binary % PowersOfTen[profile.Digits];
    }

    private static bool TryParseCode(ReadOnlySpan<char> code, int digits, out int value)
    {
        value = 0;
        if (code.Length > 32)
        {
            return false;
        }

        var count = 0;
        foreach (var c in code)
        {
            if (c == ' ')
            {
                continue;
            }

            if (!char.IsAsciiDigit(c) || count == digits)
            {
                return false;
            }

            value = value * 10 + (c - '0');
            count++;
        }

        return count == digits;
    }
}
