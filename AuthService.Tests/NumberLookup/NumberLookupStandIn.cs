using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace AuthService.Tests.NumberLookup;

/// <summary>Number Lookup answers of the Telnyx stand-in (WireMock), per number, in the shape of Telnyx's NumberLookupRecord
/// (contracts/telnyx/telnyx-number-lookup.yml).</summary>
public static class NumberLookupStandIn
{
    private static int _sequence = Random.Shared.Next(10000);

    /// <summary>A US number no other fixture uses (720-556-xxxx).</summary>
    public static string NewPhone() => $"+1720556{Interlocked.Increment(ref _sequence) % 10000:D4}";

    /// <summary>Answers lookups of <paramref name="phone"/> with this line type and, when given, a port on that date.</summary>
    public static void Answer(WireMockServer server, string phone, string lineType, DateOnly? portedAt = null)
    {
        var ported = portedAt is { } date ? $"\"ported_status\":\"Y\",\"ported_date\":\"{date:yyyy-MM-dd}\"" : "\"ported_status\":\"N\",\"ported_date\":\"\"";
        var body = "{\"data\":{\"record_type\":\"number_lookup\",\"phone_number\":\"" + phone + "\",\"country_code\":\"US\"," +
                   "\"carrier\":{\"type\":\"" + lineType + "\",\"name\":\"Stand-in Wireless\",\"mobile_country_code\":\"US\"}," +
                   "\"portability\":{\"line_type\":\"" + lineType + "\",\"spid\":\"073H\"," + ported + "}}}";
        Respond(server, phone, -5, Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(body));
    }

    /// <summary>Answers lookups of <paramref name="phone"/> with an error status; <paramref name="overriding"/>: in place of an
    /// answer given before (a mapping of higher priority).</summary>
    public static void Fail(WireMockServer server, string phone, int status, bool overriding = false) =>
        Respond(server, phone, overriding ? -6 : -5, Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json")
            .WithBody("""{"errors":[{"code":"10007","title":"Unexpected error","detail":"stand-in failure"}]}"""));

    /// <summary>The lookup requests the stand-in received for <paramref name="phone"/>.</summary>
    public static IReadOnlyList<WireMock.Logging.ILogEntry> Lookups(WireMockServer server, string phone) =>
        server.LogEntries.Where(e => e.RequestMessage.Method == "GET" && e.RequestMessage.Path.Contains("number_lookup", StringComparison.Ordinal)
                                     && e.RequestMessage.Path.EndsWith(phone[1..], StringComparison.Ordinal)).ToList();

    private static void Respond(WireMockServer server, string phone, int priority, IResponseBuilder response) =>
        server.Given(Request.Create().UsingGet().WithPath(new WildcardMatcher("/v2/number_lookup/*" + phone[1..])))
            .AtPriority(priority)
            .RespondWith(response);
}
