using System.Globalization;
using System.Text.Json;
using AuthService.Api.Telephony;
using AuthService.Core.Phone;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace AuthService.Api.NumberLookup;

/// <summary>What Number Lookup says about a number: its line type (lower case, <c>voip</c> when either the carrier or the
/// portability data says so; <c>unknown</c> when neither says anything) and the date it was last ported (null: not ported, or
/// ported on a date Telnyx does not give).</summary>
public sealed record LookupAnswer(string LineType, DateOnly? PortedAt)
{
    public const string Voip = "voip";

    public bool IsVoip => LineType == Voip;
}

/// <summary>A lookup that gave no usable answer; <see cref="Reason"/> is a bounded label (metrics, audit).</summary>
public sealed class NumberLookupUnavailableException(string reason, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Reason { get; } = reason;
}

public interface INumberLookup
{
    /// <summary>The answer for <paramref name="e164"/>, or <see cref="NumberLookupUnavailableException"/>.</summary>
    Task<LookupAnswer> LookUpAsync(string e164, CancellationToken cancellationToken);
}

/// <summary>
/// Telnyx Number Lookup, <c>GET /number_lookup/{phone_number}?type=carrier</c> (contracts/telnyx/telnyx-number-lookup.yml: the
/// spec's <c>type</c> is one of <c>carrier</c> and <c>caller-name</c>; the carrier answer carries the portability data too, and
/// caller-name is neither needed nor paid for). It uses the named HttpClient of the Telnyx sender
/// (<see cref="TelephonyServiceCollectionExtensions.TelnyxClientName"/>): the same base address, bearer token, resilience
/// pipeline and circuit breaker, so a Telnyx outage opens one breaker for sends and lookups alike.
/// </summary>
public sealed partial class TelnyxNumberLookup(IHttpClientFactory clients, ILogger<TelnyxNumberLookup> logger) : INumberLookup
{
    public async Task<LookupAnswer> LookUpAsync(string e164, CancellationToken cancellationToken)
    {
        var masked = PhoneNumbers.Mask(e164);
        var client = clients.CreateClient(TelephonyServiceCollectionExtensions.TelnyxClientName);
        HttpResponseMessage response;
        try
        {
            // The answer's body is read inside the pipeline, within each attempt's timeout (TelnyxAnswerBuffer).
            response = await client.GetAsync($"number_lookup/{Uri.EscapeDataString(e164)}?type=carrier", cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is BrokenCircuitException or TimeoutRejectedException or HttpRequestException or OperationCanceledException)
        {
            var reason = ex switch
            {
                BrokenCircuitException => "circuit_open",
                HttpRequestException => "connection_error",
                _ => "timeout",
            };
            LogFailed(logger, masked, reason);
            throw new NumberLookupUnavailableException(reason, $"Number Lookup failed ({reason}).", ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                LogFailed(logger, masked, $"HTTP {(int)response.StatusCode}");
                throw new NumberLookupUnavailableException("http_error", $"Number Lookup answered HTTP {(int)response.StatusCode}.");
            }

            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var json = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
                return Read(json.RootElement);
            }
            catch (Exception ex) when (ex is JsonException or HttpRequestException or IOException or InvalidOperationException)
            {
                LogFailed(logger, masked, "unreadable answer");
                throw new NumberLookupUnavailableException("bad_answer", "Number Lookup gave an unreadable answer.", ex);
            }
        }
    }

    /// <summary>Reads <c>data.carrier.type</c>, <c>data.portability.line_type</c>, <c>ported_status</c> and
    /// <c>ported_date</c> (NumberLookupRecord of the spec; every field optional).</summary>
    public static LookupAnswer Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException("no data object");

        var carrierType = Text(data, "carrier", "type");
        var portType = Text(data, "portability", "line_type");
        var lineType = carrierType == LookupAnswer.Voip || portType == LookupAnswer.Voip
            ? LookupAnswer.Voip
            : carrierType ?? portType ?? "unknown";
        if (lineType.Length > 40)
            lineType = lineType[..40];

        DateOnly? portedAt = null;
        if (Text(data, "portability", "ported_status") == "y"
            && Text(data, "portability", "ported_date") is { } date
            && DateOnly.TryParse(date.Length >= 10 ? date[..10] : date, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            portedAt = parsed;
        }

        return new LookupAnswer(lineType, portedAt);
    }

    private static string? Text(JsonElement data, string objectName, string field) =>
        data.TryGetProperty(objectName, out var obj) && obj.ValueKind == JsonValueKind.Object
        && obj.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
        && value.GetString()!.Trim() is { Length: > 0 } text
            ? text.ToLowerInvariant()
            : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Number Lookup for {MaskedPhone} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string maskedPhone, string reason);
}

/// <summary>The lookup of a deployment with the check off: never called (<see cref="NumberCheck"/> asks nothing then).</summary>
public sealed class NoNumberLookup : INumberLookup
{
    public Task<LookupAnswer> LookUpAsync(string e164, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("NumberLookup is disabled.");
}
