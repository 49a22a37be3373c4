using System.Collections.Concurrent;
using AuthService.Api.Telephony;
using AuthService.Core.Phone;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WireMock;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace AuthService.Tests.Telephony;

/// <summary>
/// A real loopback Telnyx fake (WireMock.Net) plus the sender built the way the app builds it:
/// a ServiceCollection, configuration and <see cref="TelephonyServiceCollectionExtensions.AddTelephony"/>.
/// </summary>
internal sealed class TelephonyHarness : IDisposable
{
    public const string ApiKey = "test-api-key-0001";
    public const string FromNumber = "+13125550100";
    public const string AccountSid = "acct-123";
    public const string ApplicationId = "texml-app-42";
    public const string Phone = "+13035550123";
    public const string Code = "482913";
    public const string Issuer = "Acme";

    private TelephonyHarness(WireMockServer server, ServiceProvider services, CapturingLoggerProvider logs)
    {
        Server = server;
        Services = services;
        Logs = logs;
    }

    public WireMockServer Server { get; }
    public ServiceProvider Services { get; }
    public CapturingLoggerProvider Logs { get; }
    public ITelephonySender Sender => Services.GetRequiredService<ITelephonySender>();

    /// <summary>Telnyx's version segment is part of the base URL, so the fake serves under it too.</summary>
    public string MessagesPath => "/v2/messages";
    public string CallsPath => $"/v2/texml/Accounts/{AccountSid}/Calls";

    /// <summary><paramref name="services"/> adds to the sender's services after <c>AddTelephony</c>.</summary>
    public static TelephonyHarness Start(Action<Dictionary<string, string?>>? configure = null, TimeProvider? time = null,
        Action<IServiceCollection>? services = null)
    {
        var server = WireMockServer.Start(ServiceProcess.FreePort()); // not WireMock's bind-free-rebind choice (TelnyxStandIn)
        var settings = new Dictionary<string, string?>
        {
            ["Telephony:Provider"] = "telnyx",
            ["Telephony:Telnyx:BaseUrl"] = server.Url + "/v2",
            ["Telephony:Telnyx:ApiKey"] = ApiKey,
            ["Telephony:Telnyx:FromNumber"] = FromNumber,
            ["Telephony:Telnyx:AccountSid"] = AccountSid,
            ["Telephony:Telnyx:TexmlApplicationId"] = ApplicationId,
            // Small numbers keep the suite fast; the shape of the pipeline is what is under test.
            ["Telephony:Telnyx:Resilience:RetryBaseDelay"] = "00:00:00.010",
            ["Telephony:Telnyx:Resilience:AttemptTimeout"] = "00:00:01",
            ["Telephony:Telnyx:Resilience:TotalTimeout"] = "00:00:05",
        };
        configure?.Invoke(settings);
        var logs = new CapturingLoggerProvider();
        return new TelephonyHarness(server, BuildServices(settings, "Development", logs, time, services), logs);
    }

    public static ServiceProvider BuildServices(
        Dictionary<string, string?> settings, string environmentName, CapturingLoggerProvider logs, TimeProvider? time = null,
        Action<IServiceCollection>? extra = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        if (time is not null)
            services.AddSingleton(time);
        services.AddTelephony(configuration, new TestEnvironment(environmentName));
        extra?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static CodeDelivery Sms(string phone = Phone) => new(phone, CodeChannel.Sms, Code, Issuer);
    public static CodeDelivery Call(string phone = Phone) => new(phone, CodeChannel.Call, Code, Issuer);

    public Task<DeliveryReceipt> SendAsync(CodeDelivery delivery) => Sender.SendCodeAsync(delivery, CancellationToken.None);

    public IReadOnlyList<ILogEntry> Requests(string path) =>
        Server.LogEntries.Where(e => e.RequestMessage.Path == path).ToList();

    /// <summary>Answers the first request with <paramref name="responses"/>[0], the second with [1] and so on; the last repeats.</summary>
    public void RespondInSequence(string path, params IResponseBuilder[] responses)
    {
        if (responses.Length == 1)
        {
            Respond(path, responses[0]); // WireMock answers 500 for a scenario that never changes state
            return;
        }

        var scenario = Guid.NewGuid().ToString("N");
        for (var i = 0; i < responses.Length; i++)
        {
            var mapping = Server.Given(Request.Create().WithPath(path).UsingPost()).InScenario(scenario);
            var withState = i == 0 ? mapping : mapping.WhenStateIs($"step{i}");
            var next = i < responses.Length - 1 ? withState.WillSetStateTo($"step{i + 1}") : withState;
            next.RespondWith(responses[i]);
        }
    }

    public void Respond(string path, IResponseBuilder response) =>
        Server.Given(Request.Create().WithPath(path).UsingPost()).RespondWith(response);

    public static IResponseBuilder MessageAccepted(string id = "40385f64-5717-4562-b3fc-2c963f66afa6") =>
        Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
            .WithBody($$$"""{"data":{"id":"{{{id}}}","record_type":"message","to":[{"phone_number":"{{{Phone}}}","status":"queued"}]}}""");

    public static IResponseBuilder CallAccepted(string sid = "v3:call-sid-1") =>
        Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
            .WithBody($$"""{"from":"{{FromNumber}}","status":"queued","to":"{{Phone}}","call_sid":"{{sid}}"}""");

    public static IResponseBuilder Error(int status, string code = "10015", string title = "Bad Request", string detail = "The request failed.") =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json")
            .WithBody($$"""{"errors":[{"code":"{{code}}","title":"{{title}}","detail":"{{detail}}"}]}""");

    /// <summary>
    /// Holds every request to <paramref name="path"/> until the harness is disposed. WireMock logs a
    /// request only once it is answered, so arrivals are counted here as they come in.
    /// </summary>
    public SlowEndpoint RespondSlowly(string path)
    {
        var endpoint = new SlowEndpoint();
        _slow.Add(endpoint);
        Server.Given(Request.Create().WithPath(path).UsingPost()).RespondWith(Response.Create().WithCallback(_ =>
        {
            endpoint.Arrive();
            endpoint.Release.Wait(TimeSpan.FromSeconds(10));
            return new ResponseMessage { StatusCode = 503 };
        }));
        return endpoint;
    }

    private readonly List<SlowEndpoint> _slow = [];

    internal sealed class SlowEndpoint
    {
        private int _arrivals;
        private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ManualResetEventSlim Release { get; } = new();
        public int Arrivals => Volatile.Read(ref _arrivals);
        public Task FirstArrival => _arrived.Task;

        public void Arrive()
        {
            Interlocked.Increment(ref _arrivals);
            _arrived.TrySetResult();
        }
    }

    public void Dispose()
    {
        foreach (var slow in _slow)
            slow.Release.Set();
        Services.Dispose();
        Server.Stop();
        Server.Dispose();
    }

    private sealed class TestEnvironment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "AuthService.Tests";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}

/// <summary>Keeps every log line, with its template values and exception text, for secrecy assertions.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToList();

    /// <summary>Waits (up to 10 s of real time) for a log line matching <paramref name="match"/>.</summary>
    public async Task<LogEntry> WaitForAsync(Func<LogEntry, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (_entries.FirstOrDefault(match) is { } found)
                return found;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("no matching log line; lines: " + string.Join(" | ", _entries.Select(e => e.Message)));
            await Task.Delay(5);
        }
    }

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, _entries);

    public void Dispose()
    {
    }

    internal sealed record LogEntry(string Category, LogLevel Level, string Message, string Everything);

    private sealed class CapturingLogger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : string.Empty;
            entries.Enqueue(new LogEntry(category, logLevel, message, $"{message} | {values} | {exception}"));
        }
    }
}
