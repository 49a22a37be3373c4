namespace AuthService.Core.Security;

/// <summary>What binds each stored secret to its place: the associated data a sealed value is opened with, and the purpose
/// of each keyed hash. Defined once — the service, key rotation and the seeders of the bench and the failover test all use
/// these; a value sealed under another context never opens, so a typo in one copy would make stored secrets unreadable.</summary>
public static class SealContexts
{
    private const string TotpPrefix = "totp:";
    private const string PhonePrefix = "phone:";
    private const string WebhookPrefix = "webhook:";

    /// <summary>Purpose of the keyed hash that finds a phone number without opening it (budgets, confirmed numbers).</summary>
    public const string PhoneLookupPurpose = "phone-lookup";

    /// <summary>Purpose of the keyed hash of a sent phone code.</summary>
    public const string PhoneCodePurpose = "phone-code";

    /// <summary>Associated data of a user's sealed TOTP secret: a ciphertext copied to another user's row will not open.</summary>
    public static string TotpSecret(string userId) => TotpPrefix + userId;

    /// <summary>Associated data of a user's sealed phone number.</summary>
    public static string PhoneNumber(string userId) => PhonePrefix + userId;

    /// <summary>Associated data of a webhook endpoint's sealed signing secret.</summary>
    public static string WebhookSecret(Guid endpointId) => WebhookPrefix + endpointId.ToString("N");

    /// <summary>The lookup hash of an E.164 number under the active key.</summary>
    public static byte[] PhoneLookupHash(this SecretBox secrets, string e164) => secrets.Mac(secrets.ActiveKeyId, PhoneLookupPurpose, e164);

    /// <summary>Keyed hash of a phone code, bound to its user, purpose, id and the factor (or pending row) it was sent for: a dump
    /// without the key reveals nothing, and a hash copied to another row, purpose or factor does not match (DESIGN §9.1).</summary>
    public static byte[] PhoneCodeHash(this SecretBox secrets, string keyId, string userId, string purpose, Guid codeId, Guid factorId, string code) =>
        secrets.Mac(keyId, PhoneCodePurpose, $"{userId}|{purpose}|{codeId:N}|{factorId:N}|{code}");
}
