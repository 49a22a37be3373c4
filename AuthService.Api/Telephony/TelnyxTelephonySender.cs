using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AuthService.Core.Phone;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace AuthService.Api.Telephony;

/// <summary>
/// Delivers codes through Telnyx API v2: SMS with <c>POST /messages</c>, voice with a TeXML call
/// (<c>POST /texml/Accounts/{account_sid}/Calls</c>) whose inline script reads the digits twice.
/// A typed HttpClient: base address, bearer token and the resilience pipeline come from
/// <see cref="TelephonyServiceCollectionExtensions.AddTelephony"/>.
/// </summary>
public sealed partial class TelnyxTelephonySender(
    HttpClient httpClient,
    IOptions<TelnyxOptions> options,
    ILogger<TelnyxTelephonySender> logger) : ITelephonySender
{
    public const string ProviderName = "telnyx";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly TelnyxOptions _options = options.Value;

    public TimeSpan LongestSend => _options.Resilience.TotalTimeout;

    public async Task<DeliveryReceipt> SendCodeAsync(CodeDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var masked = PhoneNumbers.Mask(delivery.PhoneNumber);
        var (path, body) = delivery.Channel switch
        {
            CodeChannel.Sms => ("messages", SmsRequest(delivery)),
            CodeChannel.Call => (CallPath(masked), CallRequest(delivery)),
            _ => throw new ArgumentOutOfRangeException(nameof(delivery), delivery.Channel, "Unknown delivery channel."),
        };

        var attempts = TelnyxAttempts.Begin(cancellationToken);
        HttpResponseMessage response;
        try
        {
            // The answer's body is read inside the pipeline, within each attempt's timeout (TelnyxAnswerBuffer).
            response = await httpClient.PostAsync(path, JsonContent.Create(body, body.GetType(), options: Json), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Any other failure (an exception reading an answer, say) may come after Telnyx took the message, like a broken
            // connection: it is reported as possibly sent, never as a 500 that would release the user's Idempotency-Key.
            var reason = ex switch
            {
                BrokenCircuitException => "circuit open",
                TimeoutRejectedException or OperationCanceledException => "timed out",
                HttpRequestException => "connection failed",
                _ => $"failed ({ex.GetType().Name})",
            };
            // Only a circuit that was open or a connection never made proves nothing went out; after a timeout or a
            // connection that broke once the request was written, Telnyx may have taken the message.
            // A timeout between attempts (a backoff or a Retry-After wait) also follows only attempts that sent nothing.
            var betweenAttempts = ex is TimeoutRejectedException or OperationCanceledException && !attempts.InFlight;
            var nothingSent = ex is BrokenCircuitException || SendFailures.NothingSent(ex) || betweenAttempts;
            if (betweenAttempts)
                reason = "timed out waiting to retry";
            if (!nothingSent && ex is HttpRequestException)
                reason = "connection broken after the request was sent";
            LogUnreachable(logger, ex, delivery.Channel, masked, reason);
            throw new TelephonyUnavailableException(
                nothingSent
                    ? $"Telnyx is unavailable ({reason}); the {Describe(delivery.Channel)} was not sent."
                    : $"Telnyx did not answer ({reason}); the {Describe(delivery.Channel)} may have been sent.",
                transient: true, ex, mayHaveBeenDelivered: !nothingSent);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
                throw await RejectedAsync(response, delivery, masked, cancellationToken);

            var id = await ReadProviderIdAsync(response, delivery.Channel, cancellationToken);
            LogSent(logger, delivery.Channel, masked, id);
            return new DeliveryReceipt(ProviderName, id);
        }
    }

    private object SmsRequest(CodeDelivery delivery)
    {
        var text = delivery.Sms;
        // The number pool (for volume, SCALING.md) when asked for, even where FromNumber is set for the calls; else the from
        // number pins the sender, and without one Telnyx picks from the messaging profile. An alphanumeric sender id goes with
        // its messaging profile, which Telnyx requires for one (start-up refuses a sender id without it).
        var pooled = _options.NumberPool || string.IsNullOrWhiteSpace(_options.FromNumber);
        var profile = pooled || TelnyxOptions.IsSenderId(_options.FromNumber) ? _options.MessagingProfileId : null;
        return new SendMessageRequest(pooled ? null : _options.FromNumber, profile, delivery.PhoneNumber, text);
    }

    private InitiateCallRequest CallRequest(CodeDelivery delivery) => new(
        To: delivery.PhoneNumber,
        From: _options.FromNumber!,
        ApplicationSid: _options.TexmlApplicationId!,
        Texml: delivery.Texml);

    private string CallPath(string masked)
    {
        if (!_options.VoiceConfigured)
        {
            LogVoiceNotConfigured(logger, masked);
            throw new TelephonyUnavailableException(
                "Voice calls need Telephony:Telnyx:AccountSid, :TexmlApplicationId and an E.164 :FromNumber.", transient: false);
        }

        return $"texml/Accounts/{Uri.EscapeDataString(_options.AccountSid!)}/Calls";
    }

    private async Task<TelephonyUnavailableException> RejectedAsync(
        HttpResponseMessage response, CodeDelivery delivery, string masked, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        // 429 and 5xx may pass; any other 4xx is Telnyx refusing this request (bad number, bad
        // credentials, unroutable destination) and sending it again will not help.
        var transient = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || status >= 500;
        var errors = await ReadErrorsAsync(response, delivery, cancellationToken);
        if (transient)
            LogProviderFailed(logger, delivery.Channel, masked, status, errors);
        else
            LogProviderRejected(logger, delivery.Channel, masked, status, errors);

        // 500/502/504 (and 408) may come after Telnyx queued the message, unlike 429/503 (refused before handling).
        var mayHaveBeenDelivered = status is 408 or 500 or 502 or 504 or > 504;
        return new TelephonyUnavailableException(
            $"Telnyx answered HTTP {status}; the {Describe(delivery.Channel)} {(mayHaveBeenDelivered ? "may have been sent" : "was not sent")}.", transient,
            mayHaveBeenDelivered: mayHaveBeenDelivered);
    }

    /// <summary>
    /// Summarises <c>{"errors":[{"code","title","detail"}]}</c> for the log. Telnyx details can quote
    /// the request back ("+13035550123 is not a valid…"), so the number, the code and the text are
    /// blanked out before anything is logged.
    /// </summary>
    private static async Task<string> ReadErrorsAsync(
        HttpResponseMessage response, CodeDelivery delivery, CancellationToken cancellationToken)
    {
        string raw;
        try
        {
            raw = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException)
        {
            // InvalidOperationException: a charset .NET cannot decode (say, an HTML error page of a proxy in front of Telnyx).
            return "(body unreadable)";
        }

        var summary = new StringBuilder();
        try
        {
            using var doc = JsonDocument.Parse(raw);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("errors", out var errors)
                && errors.ValueKind == JsonValueKind.Array)
            {
                foreach (var error in errors.EnumerateArray().Take(5))
                {
                    if (summary.Length > 0)
                        summary.Append("; ");
                    summary.Append(Field(error, "code")).Append(' ')
                        .Append(Field(error, "title")).Append(": ")
                        .Append(Field(error, "detail"));
                }
            }
        }
        catch (JsonException)
        {
            // Not Telnyx's JSON (a proxy page, say): its content is unknown, so only its size is logged.
        }

        if (summary.Length == 0)
            return $"(no Telnyx errors in a {raw.Length}-character body)";

        var text = summary.ToString();
        foreach (var secret in Secrets(delivery))
            text = text.Replace(secret, "[redacted]", StringComparison.Ordinal);
        text = RedactNumber(text, delivery.PhoneNumber);
        return text.Length > 1000 ? text[..1000] + "…" : text;
    }

    /// <summary>The number in any other spelling a refusal may quote it in: national (3035550100), grouped
    /// (+1 (303) 555-0100, 303-555-0100): a run of 7 or more digits, separators aside, that ends the number's digits.</summary>
    internal static string RedactNumber(string text, string e164)
    {
        var digits = e164.TrimStart('+');
        return DigitRun().Replace(text, run =>
        {
            var found = string.Concat(run.Value.Where(char.IsAsciiDigit));
            return found.Length >= 7 && digits.EndsWith(found, StringComparison.Ordinal) ? "[redacted]" : run.Value;
        });
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\+?\(?\d[\d ().-]*\d")]
    private static partial System.Text.RegularExpressions.Regex DigitRun();

    private static IEnumerable<string> Secrets(CodeDelivery delivery)
    {
        // Longest first so the whole text goes before the code inside it. A call sends the code as TeXML, spoken digit by
        // digit ("4, 8, 2, …"), which a refusal can quote back as well as the SMS text.
        string[] candidates =
        [
            delivery.Sms, delivery.Texml, CodeTexts.SpokenDigits(delivery.Code), delivery.PhoneNumber, delivery.PhoneNumber.TrimStart('+'), delivery.Code,
        ];
        return candidates.Where(s => s.Length >= 4).Distinct().OrderByDescending(s => s.Length);
    }

    private static string Field(JsonElement error, string name) =>
        error.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? value.ToString()
            : "-";

    private async Task<string?> ReadProviderIdAsync(HttpResponseMessage response, CodeChannel channel, CancellationToken cancellationToken)
    {
        // The message was accepted whatever the body says: failing here would make the user ask
        // for a second code while the first one is on its way.
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
            var root = doc.RootElement;
            return channel == CodeChannel.Sms
                ? StringAt(root, "data", "id")
                : StringAt(root, "call_sid") ?? StringAt(root, "sid") ?? StringAt(root, "CallSid")
                  ?? StringAt(root, "data", "call_sid") ?? StringAt(root, "data", "sid") ?? StringAt(root, "data", "id");
        }
        catch (Exception ex) when (ex is JsonException or HttpRequestException or IOException)
        {
            LogUnreadableReceipt(logger, channel);
            return null;
        }
    }

    private static string? StringAt(JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
                return null;
        }

        return element.ValueKind == JsonValueKind.String ? element.GetString() : null;
    }

    private static string Describe(CodeChannel channel) => channel == CodeChannel.Sms ? "SMS" : "call";

    private sealed record SendMessageRequest(
        [property: JsonPropertyName("from")] string? From,
        [property: JsonPropertyName("messaging_profile_id")] string? MessagingProfileId,
        [property: JsonPropertyName("to")] string To,
        [property: JsonPropertyName("text")] string Text);

    private sealed record InitiateCallRequest(
        [property: JsonPropertyName("To")] string To,
        [property: JsonPropertyName("From")] string From,
        [property: JsonPropertyName("ApplicationSid")] string ApplicationSid,
        [property: JsonPropertyName("Texml")] string Texml);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent {Channel} code to {MaskedPhone} via Telnyx, provider id {ProviderMessageId}")]
    private static partial void LogSent(ILogger logger, CodeChannel channel, string maskedPhone, string? providerMessageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telnyx unreachable for {Channel} to {MaskedPhone}: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, Exception exception, CodeChannel channel, string maskedPhone, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telnyx failed {Channel} to {MaskedPhone}: HTTP {StatusCode}, errors {TelnyxErrors}")]
    private static partial void LogProviderFailed(ILogger logger, CodeChannel channel, string maskedPhone, int statusCode, string telnyxErrors);

    [LoggerMessage(Level = LogLevel.Error, Message = "Telnyx rejected {Channel} to {MaskedPhone}: HTTP {StatusCode}, errors {TelnyxErrors}")]
    private static partial void LogProviderRejected(ILogger logger, CodeChannel channel, string maskedPhone, int statusCode, string telnyxErrors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telnyx accepted a {Channel} but its answer had no readable id")]
    private static partial void LogUnreadableReceipt(ILogger logger, CodeChannel channel);

    [LoggerMessage(Level = LogLevel.Error, Message = "Call to {MaskedPhone} refused: Telnyx voice settings (AccountSid, TexmlApplicationId, FromNumber) are missing")]
    private static partial void LogVoiceNotConfigured(ILogger logger, string maskedPhone);
}
