using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace AuthService.Tests.SmsFallback;

/// <summary>Plays Telnyx's side of the messaging webhooks (contracts/telnyx/messaging-webhooks.md): an Ed25519 key pair whose
/// public half the app is configured with, <c>message.finalized</c> bodies in Telnyx's shape, and the signed POST.</summary>
public sealed class TelnyxReports
{
    private readonly Ed25519PrivateKeyParameters _key = new(new SecureRandom());

    public string PublicKey => Convert.ToBase64String(_key.GeneratePublicKey().GetEncoded());

    /// <summary>A key Telnyx did not sign with.</summary>
    public static TelnyxReports Stranger() => new();

    /// <summary>A <c>message.finalized</c> event for <paramref name="messageId"/> whose recipient ended in <paramref name="status"/>.</summary>
    public static string Finalized(string messageId, string status, string eventType = "message.finalized") => JsonSerializer.Serialize(new
    {
        data = new
        {
            event_type = eventType,
            id = Guid.NewGuid().ToString(),
            occurred_at = "2026-03-02T09:00:01.000+00:00",
            payload = new
            {
                completed_at = "2026-03-02T09:00:01.000+00:00",
                direction = "outbound",
                id = messageId,
                record_type = "message",
                type = "SMS",
                from = new { phone_number = "+13035550100", carrier = "Telnyx", line_type = "VoIP" },
                to = new[] { new { phone_number = "+13035550123", status, carrier = "T-MOBILE USA, INC.", line_type = "Wireless" } },
                errors = status.EndsWith("failed", StringComparison.Ordinal)
                    ? new object[] { new { code = "40300", title = "Blocked as spam", detail = "the carrier refused the message" } }
                    : [],
            },
            record_type = "event",
        },
        meta = new { attempt = 1, delivered_to = "https://auth.example.com/telnyx/messaging-events" },
    });

    public string Sign(string timestamp, string body)
    {
        var message = Encoding.UTF8.GetBytes(timestamp + "|" + body);
        var signer = new Ed25519Signer();
        signer.Init(true, _key);
        signer.BlockUpdate(message, 0, message.Length);
        return Convert.ToBase64String(signer.GenerateSignature());
    }

    /// <summary>The POST Telnyx makes: the body, signed at <paramref name="signedAt"/>.</summary>
    public HttpRequestMessage Request(string body, DateTimeOffset signedAt)
    {
        var timestamp = signedAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Unsigned(body, Sign(timestamp, body), timestamp);
    }

    public static HttpRequestMessage Unsigned(string body, string? signature, string? timestamp)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/telnyx/messaging-events")
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        if (signature is not null)
            request.Headers.Add("telnyx-signature-ed25519", signature);
        if (timestamp is not null)
            request.Headers.Add("telnyx-timestamp", timestamp);
        return request;
    }

    /// <summary>The Telnyx message id the stand-in answered for the latest SMS to <paramref name="phone"/>.</summary>
    public static string LastMessageIdTo(TelnyxStandIn telnyx, string phone) =>
        telnyx.Server.LogEntries
            .Where(e => e.RequestMessage.Path.EndsWith("/messages", StringComparison.Ordinal) && e.RequestMessage.Body is { } b
                        && JsonDocument.Parse(b).RootElement.GetProperty("to").GetString() == phone)
            .OrderBy(e => e.RequestMessage.DateTime)
            .Select(e => JsonDocument.Parse(e.ResponseMessage.BodyData!.BodyAsString!).RootElement.GetProperty("data").GetProperty("id").GetString()!)
            .Last();
}
