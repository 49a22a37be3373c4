using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace AuthService.Tests.Infrastructure;

/// <summary>A loopback stand-in for Telnyx (a real HTTP server, WireMock.Net) that the service's real Telnyx adapter
/// talks to. Tests read the delivered codes from the requests it received, as a user reads their phone.</summary>
public sealed class TelnyxStandIn : IDisposable
{
    public const string AccountSid = "AC-test";

    public TelnyxStandIn()
    {
        // A port outside the kernel's ephemeral range (ServiceProcess.FreePort): WireMock's own choice binds port 0, frees it and
        // binds it again, and a client's connection may take it in between (the server then fails to start, one run in many).
        Server = WireMockServer.Start(ServiceProcess.FreePort());
        Succeed();
    }

    public WireMockServer Server { get; }

    public Dictionary<string, string?> Settings => new()
    {
        ["Telephony:Provider"] = "telnyx",
        ["Telephony:Telnyx:BaseUrl"] = Server.Url + "/v2",
        ["Telephony:Telnyx:ApiKey"] = "KEY-standin",
        ["Telephony:Telnyx:FromNumber"] = "+13035550100",
        ["Telephony:Telnyx:AccountSid"] = AccountSid,
        ["Telephony:Telnyx:TexmlApplicationId"] = "texml-app",
        // The app's clock is a FakeTimeProvider, which the resilience pipeline also runs on: a retry backoff would
        // wait for fake time forever. Retries are proven by the adapter's own tests; here one attempt is enough.
        ["Telephony:Telnyx:Resilience:MaxRetryAttempts"] = "0",
        ["Telephony:Telnyx:Resilience:AttemptTimeout"] = "00:00:01",
        ["Telephony:Telnyx:Resilience:TotalTimeout"] = "00:00:03",
        // The connect timeout runs on the real clock: half the 1 s attempt let a loopback connect time out while 20 sends
        // of two in-process apps loaded the 2-core CI machine (TelephonyCapsTests, a fresh-clone run).
        ["Telephony:Telnyx:Resilience:ConnectTimeout"] = "00:00:10",
        ["Telephony:Telnyx:Resilience:CircuitMinimumThroughput"] = "1000",
    };

    public void Succeed()
    {
        Server.Reset();
        Server.Given(Request.Create().WithPath("/v2/messages").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"data":{"id":"msg-{{Random Type="Guid"}}","record_type":"message"}}""").WithTransformer());
        Server.Given(Request.Create().WithPath($"/v2/texml/Accounts/{AccountSid}/Calls").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"from":"+13035550100","status":"queued","to":"+13035550123","call_sid":"call-1"}"""));
    }

    public void Fail(int status)
    {
        Server.Reset();
        Server.Given(Request.Create().UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json")
                .WithBody("""{"errors":[{"code":"10011","title":"Unavailable","detail":"stand-in failure"}]}"""));
    }

    /// <summary>Bodies of every SMS and call request received for <paramref name="phone"/> (at or after <paramref name="since"/>,
    /// UTC, when given: WireMock logs a request when its answer is written, so a slow answer to an earlier request can be logged
    /// after a <c>Reset()</c>), oldest first.</summary>
    public IReadOnlyList<(string Channel, string Body)> DeliveriesTo(string phone, DateTime? since = null) =>
        Server.LogEntries
            .Where(e => e.RequestMessage.Method == "POST" && e.RequestMessage.Body is { } body && Recipient(body) == phone
                        && (since is null || e.RequestMessage.DateTime.ToUniversalTime() >= since))
            .OrderBy(e => e.RequestMessage.DateTime)
            .Select(e => (e.RequestMessage.Path.EndsWith("/messages", StringComparison.Ordinal) ? "sms" : "call", e.RequestMessage.Body!))
            .ToList();

    /// <summary>The code in the latest message or call to <paramref name="phone"/>.</summary>
    public string LastCodeTo(string phone)
    {
        var deliveries = DeliveriesTo(phone);
        Assert.That(deliveries, Is.Not.Empty, $"nothing was delivered to {phone}");
        return CodeIn(deliveries[^1].Body);
    }

    public static string CodeIn(string body)
    {
        var text = JsonDocument.Parse(body).RootElement is var json && json.TryGetProperty("text", out var sms)
            ? sms.GetString()!
            : json.GetProperty("Texml").GetString()!;
        var sms6 = Regex.Match(text, @"code is (\d{6})");
        if (sms6.Success)
        {
            return sms6.Groups[1].Value;
        }

        // Voice: digits said one by one, e.g. "4, 8, 2, 9, 1, 3".
        var spoken = Regex.Match(text, @"(\d)(?:[,.]?\s*(\d)){5}");
        Assert.That(spoken.Success, Is.True, text);
        return string.Concat(Regex.Matches(spoken.Value, @"\d").Select(m => m.Value));
    }

    private static string? Recipient(string body)
    {
        var json = JsonDocument.Parse(body).RootElement;
        return json.TryGetProperty("to", out var to) ? to.GetString() : json.TryGetProperty("To", out var call) ? call.GetString() : null;
    }

    /// <summary>Holds every SMS to <paramref name="phone"/> until the returned gate is opened, then answers success.
    /// WireMock logs a request only once it is answered, so the gate counts arrivals itself. (The body is matched without
    /// the "+", which the adapter's JSON writes escaped.)</summary>
    public Gate Hold(string phone)
    {
        var gate = new Gate();
        Server.Given(Request.Create().WithPath("/v2/messages").UsingPost().WithBody(new WireMock.Matchers.WildcardMatcher("*" + phone[1..] + "*")))
            .AtPriority(-10) // before the default answers (lower wins)
            .RespondWith(Response.Create().WithCallback(_ =>
            {
                gate.Arrived.TrySetResult();
                gate.Opened.Wait(TimeSpan.FromSeconds(20));
                return new WireMock.ResponseMessage
                {
                    StatusCode = 200,
                    Headers = new Dictionary<string, WireMock.Types.WireMockList<string>> { ["Content-Type"] = new("application/json") },
                    BodyData = new WireMock.Util.BodyData
                    {
                        BodyAsString = """{"data":{"id":"msg-held","record_type":"message"}}""",
                        DetectedBodyType = WireMock.Types.BodyType.String,
                    },
                };
            }));
        return gate;
    }

    public sealed class Gate : IDisposable
    {
        public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ManualResetEventSlim Opened { get; } = new();

        public void Open() => Opened.Set();

        public void Dispose() => Opened.Set();
    }

    public int RequestCount => Server.LogEntries.Count();

    public void Dispose() => Server.Stop();
}
