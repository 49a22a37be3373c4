namespace AuthService.Core.Factors;

/// <summary>The names of the second-factor methods as the API, the database and the audit trail spell them.</summary>
public static class FactorMethods
{
    public const string Totp = "totp";
    public const string Phone = "phone";
    public const string Passkey = "passkey";

    /// <summary>Not a factor of its own: a backup code proves any of them, once.</summary>
    public const string BackupCode = "backup_code";
}
