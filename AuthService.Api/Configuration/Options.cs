using AuthService.Core.Totp;

namespace AuthService.Api.Configuration;

/// <summary><c>Auth:*</c></summary>
public sealed class AuthOptions
{
    public string Issuer { get; set; } = "AuthService";

    /// <summary>If set, an admin API key with exactly this value exists (created at start, never un-revoked).</summary>
    public string? BootstrapAdminKey { get; set; }

    /// <summary>How long an instance trusts a key it looked up (0 = ask the database on every request). A key revoked
    /// on another instance keeps working here for at most this long.</summary>
    public int ApiKeyCacheSeconds { get; set; } = 5;
}

/// <summary><c>Totp:*</c> — the profile new factors get, and how long an enrollment waits for its first code.</summary>
public sealed class TotpOptions
{
    public TotpAlgorithm Algorithm { get; set; } = TotpAlgorithm.Sha1;
    public int Digits { get; set; } = 6;
    public int PeriodSeconds { get; set; } = 30;
    public TimeSpan EnrollmentTtl { get; set; } = TimeSpan.FromMinutes(15);

    public TotpProfile Profile => new TotpProfile(Algorithm, Digits, PeriodSeconds).Validate();
}

/// <summary><c>Encryption:*</c> — AES-256 keys (base64) by id, and the id new values are sealed with.</summary>
public sealed class EncryptionOptions
{
    public string? ActiveKeyId { get; set; }
    public Dictionary<string, string> Keys { get; set; } = new();
}

/// <summary><c>Limits:*</c></summary>
public sealed class LimitsOptions
{
    public int DailyRequests { get; set; } = 10;
    public int AttemptsPerMinute { get; set; } = 5;
    public int LockoutThreshold { get; set; } = 100;
}

/// <summary><c>Enforcement:*</c> — from when password/OAuth users without 2FA are prompted to enroll.</summary>
public sealed class EnforcementOptions
{
    public DateTimeOffset StartsAt { get; set; } = new(2023, 8, 7, 0, 0, 0, TimeSpan.Zero);
    public int? MaxSkips { get; set; }

    /// <summary>The configured instant, a value without an offset (<c>2024-09-01</c>) read as UTC like every timestamp of the
    /// service. The binder reads one in the host's local time zone, so the same date meant another moment on another
    /// machine; <paramref name="bound"/> (what it bound) stands when nothing is configured.</summary>
    public static DateTimeOffset StartsAtFrom(string? configured, DateTimeOffset bound) =>
        DateTimeOffset.TryParse(configured, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var instant) ? instant : bound;
}

/// <summary><c>Factors:*</c> — how many factors of each method a user may hold (DESIGN §9.2).</summary>
public sealed class FactorOptions
{
    public int MaxTotp { get; set; } = 5;
    public int MaxPhone { get; set; } = 3;
    public int MaxPasskey { get; set; } = 10;
}
