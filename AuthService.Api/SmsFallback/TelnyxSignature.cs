using System.Globalization;
using System.Text;
using AuthService.Api.Http;
using Microsoft.Extensions.Options;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace AuthService.Api.SmsFallback;

/// <summary>Where Telnyx's webhooks are checked: <c>Telephony:Telnyx:WebhookPublicKey</c> (the account's Ed25519 public key,
/// base64 of 32 bytes, from Mission Control → Keys &amp; Credentials → Public Key) and <c>Telephony:Telnyx:WebhookTolerance</c>
/// (how far <c>telnyx-timestamp</c> may be from our clock, either way; 5 minutes by default).</summary>
public sealed class TelnyxWebhookOptions
{
    public const string SectionName = "Telephony:Telnyx";

    public string? WebhookPublicKey { get; set; }

    public TimeSpan WebhookTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The key, or null when unset, not base64 of 32 bytes, or 32 bytes that are no point of the curve (a key mistyped
    /// or cut and pasted wrong: BouncyCastle refuses it when the key is built, which would otherwise fail every callback).</summary>
    public Ed25519PublicKeyParameters? PublicKey()
    {
        if (string.IsNullOrWhiteSpace(WebhookPublicKey))
            return null;
        var buffer = new byte[64];
        if (!Convert.TryFromBase64String(WebhookPublicKey.Trim(), buffer, out var length) || length != Ed25519PublicKeyParameters.KeySize)
            return null;
        try
        {
            return new Ed25519PublicKeyParameters(buffer, 0);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public string? Problem() =>
        !string.IsNullOrWhiteSpace(WebhookPublicKey) && PublicKey() is null
            ? "Telephony:Telnyx:WebhookPublicKey must be the base64 of a 32-byte Ed25519 public key (Telnyx Mission Control → Keys & Credentials → Public Key)."
            : WebhookTolerance <= TimeSpan.Zero || WebhookTolerance > TimeSpan.FromHours(1)
                ? "Telephony:Telnyx:WebhookTolerance must be more than 0 and at most 01:00:00."
                : null;
}

/// <summary>
/// Telnyx's webhook signature (contracts/telnyx/messaging-webhooks.md): <c>telnyx-signature-ed25519</c> is the base64 Ed25519
/// signature, by the account's key, of <c>{telnyx-timestamp}|{raw body}</c>; <c>telnyx-timestamp</c> is Unix seconds. A
/// signature is accepted only over the exact bytes received, and only within the tolerance of our clock, so a captured
/// request cannot be replayed later (a replay within the window changes nothing: a report is applied once).
/// </summary>
public sealed class TelnyxSignature(IOptions<TelnyxWebhookOptions> options, TimeProvider time)
{
    public const string SignatureHeader = "telnyx-signature-ed25519";
    public const string TimestampHeader = "telnyx-timestamp";
    private const int SignatureSize = 64;

    public static readonly Problem Missing = new(400, ProblemCodes.TelnyxSignatureMissing, "The Telnyx signature is missing.",
        $"A Telnyx webhook carries the headers {SignatureHeader} (base64 Ed25519 signature) and {TimestampHeader} (Unix seconds).");

    public static readonly Problem Invalid = new(401, ProblemCodes.TelnyxSignatureInvalid, "The Telnyx signature does not verify.",
        "The signature is not Telnyx's over this timestamp and body (or no Telnyx public key is configured).");

    public static Problem Expired(TimeSpan tolerance) => new(401, ProblemCodes.TelnyxSignatureExpired, "The Telnyx signature is too old.",
        $"telnyx-timestamp is more than {tolerance.TotalSeconds:0} s from this service's clock.");

    /// <summary>Null when <paramref name="body"/> is signed by Telnyx now, else the refusal.</summary>
    public Problem? Check(string? signature, string? timestamp, ReadOnlySpan<byte> body)
    {
        var sig = new byte[SignatureSize];
        if (string.IsNullOrWhiteSpace(signature) || string.IsNullOrWhiteSpace(timestamp)
            || !long.TryParse(timestamp.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || !Convert.TryFromBase64String(signature.Trim(), sig, out var length) || length != SignatureSize)
        {
            return Missing;
        }

        if (options.Value.PublicKey() is not { } key)
        {
            return Invalid;
        }

        var prefix = Encoding.ASCII.GetBytes(timestamp.Trim() + "|");
        var verifier = new Ed25519Signer();
        verifier.Init(false, key);
        verifier.BlockUpdate(prefix, 0, prefix.Length);
        verifier.BlockUpdate(body);
        if (!verifier.VerifySignature(sig))
        {
            return Invalid;
        }

        var tolerance = options.Value.WebhookTolerance;
        var signedAt = seconds > 253402300799 ? DateTimeOffset.MaxValue : DateTimeOffset.FromUnixTimeSeconds(seconds);
        return (time.GetUtcNow() - signedAt).Duration() > tolerance ? Expired(tolerance) : null;
    }
}
