using System.Net;
using System.Net.Sockets;
using System.Text;
using AuthService.Api.Events;
using AuthService.Core.Security;
using Polly.Timeout;
using StandardWebhooks;

namespace AuthService.Api.Webhooks;

/// <summary>The outcome of one delivery attempt. <see cref="OutcomeUnknown"/>: the receiver may have processed the
/// event although we saw no answer (timeout, connection lost after sending) — the only case in which a retry can
/// duplicate a delivery.</summary>
public sealed record SendResult(bool Delivered, string Outcome, int? Status, string? Error, bool OutcomeUnknown);

/// <summary>A connection the SSRF guard refused (the address the name resolved to is not allowed).</summary>
public sealed class WebhookAddressRefusedException(string message) : Exception(message);

/// <summary>Signs and posts one event per the Standard Webhooks specification, through the <c>webhooks</c> HTTP
/// client: its resilience pipeline bounds the attempt (<c>Webhooks:Timeout</c>), its connect callback enforces the
/// SSRF guard on the resolved address, and it neither follows redirects nor uses a proxy.</summary>
public sealed class WebhookSender(IHttpClientFactory clients, SecretBox secrets, WebhookUrlGuard guard)
{
    public const string ClientName = "webhooks";

    /// <summary>Sends a claimed delivery with its endpoint's sealed secret.</summary>
    public Task<SendResult> SendAsync(ClaimedDelivery item, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        string secret;
        try
        {
            secret = secrets.OpenString(item.Secret, SealContexts.WebhookSecret(item.EndpointId));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return Task.FromResult(new SendResult(false, "secret_unreadable", null, "The endpoint's secret does not open with the key ring.", false));
        }

        return SendAsync(item.Url, secret, WebhookEvent.MessageId(item.EventId), item.Body, timestamp, cancellationToken);
    }

    public async Task<SendResult> SendAsync(string url, string secret, string messageId, string body, DateTimeOffset timestamp,
        CancellationToken cancellationToken)
    {
        if (guard.SchemeRefusal(url) is { } insecure)
        {
            return new SendResult(false, "refused", null, insecure, false);
        }

        var signature = new StandardWebhook(secret).Sign(messageId, timestamp, body);
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", messageId);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", signature);
        request.Headers.UserAgent.ParseAdd("AuthService-Webhooks/1");

        var client = clients.CreateClient(ClientName);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? new SendResult(true, "delivered", status, null, false)
                : new SendResult(false, "http_error", status, $"HTTP {status}", false);
        }
        catch (Exception e) when (Refusal(e) is { } refused)
        {
            return new SendResult(false, "refused", null, refused.Message, false);
        }
        catch (Exception e) when (e is TimeoutRejectedException ||
                                  (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new SendResult(false, "timeout", null, "The receiver did not answer in time.", true);
        }
        catch (HttpRequestException e)
        {
            // Refused or unreachable before the request went out: surely not delivered. Anything later: unknown.
            var beforeSending = e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
                or HttpRequestError.SecureConnectionError;
            return new SendResult(false, "network_error", null, Short(e), !beforeSending);
        }
    }

    private static WebhookAddressRefusedException? Refusal(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is WebhookAddressRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }

    private static string Short(Exception e) => e.Message.Length <= 300 ? e.Message : e.Message[..300];

    /// <summary>The primary handler of the <c>webhooks</c> client: connects only to addresses the guard allows.</summary>
    public static SocketsHttpHandler CreateHandler(WebhookUrlGuard guard) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2), // DNS changes are picked up, and checked again
        ConnectCallback = async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancellationToken);
            var allowed = addresses.Where(guard.MayConnect).ToArray();
            if (allowed.Length == 0)
            {
                var explained = addresses.Select(WebhookUrlGuard.Explain).FirstOrDefault(e => e.Length > 0) ?? "";
                throw new WebhookAddressRefusedException(
                    $"{host} resolves to a loopback, private or otherwise non-public address{explained} (Webhooks:AllowPrivateNetworks is off).");
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
