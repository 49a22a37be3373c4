using AuthService.Api.Telephony;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace AuthService.Tests.Telephony;

public class AddTelephonyTests
{
    private static readonly Dictionary<string, string?> Complete = new()
    {
        ["Telephony:Provider"] = "telnyx",
        ["Telephony:Telnyx:ApiKey"] = "key",
        ["Telephony:Telnyx:FromNumber"] = "+13125550100",
    };

    [TestCase("Production")]
    [TestCase("Staging")]
    [TestCase("prod")]
    public void Log_provider_is_refused_outside_Development(string environment)
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            Build(new() { ["Telephony:Provider"] = "log" }, environment));

        Assert.That(ex!.Message, Does.Contain("development only").And.Contain($"'{environment}'"));
    }

    [Test]
    public void Log_provider_is_allowed_in_Development()
    {
        using var services = Build(new() { ["Telephony:Provider"] = "log" }, "Development");

        Assert.That(services.GetRequiredService<ITelephonySender>(), Is.InstanceOf<LogTelephonySender>());
    }

    [Test]
    public void Telnyx_is_refused_without_an_api_key()
    {
        var settings = new Dictionary<string, string?>(Complete) { ["Telephony:Telnyx:ApiKey"] = null };

        var ex = Assert.Throws<InvalidOperationException>(() => Build(settings, "Production"));

        Assert.That(ex!.Message, Does.Contain("Telephony:Telnyx:ApiKey is missing"));
    }

    [Test]
    public void Telnyx_is_refused_without_a_from_number_or_messaging_profile()
    {
        var settings = new Dictionary<string, string?>(Complete) { ["Telephony:Telnyx:FromNumber"] = "" };

        var ex = Assert.Throws<InvalidOperationException>(() => Build(settings, "Production"));

        Assert.That(ex!.Message, Does.Contain("FromNumber or Telephony:Telnyx:MessagingProfileId"));
    }

    /// <summary>docker-compose.yml's placeholders are refused at start, as the bootstrap admin key's are: left in, every code
    /// would fail at Telnyx. A from address Telnyx cannot send from is refused too.</summary>
    [TestCase("Telephony:Telnyx:ApiKey", "CHANGE-ME", "ApiKey is still a placeholder")]
    [TestCase("Telephony:Telnyx:FromNumber", "CHANGE-ME-your-Telnyx-number", "FromNumber is still a placeholder")]
    [TestCase("Telephony:Telnyx:MessagingProfileId", "change-me", "MessagingProfileId is still a placeholder")]
    [TestCase("Telephony:Telnyx:FromNumber", "13125550100", "FromNumber must be what Telnyx sends from")]
    [TestCase("Telephony:Telnyx:FromNumber", "+1 312 555 0100", "FromNumber must be what Telnyx sends from")]
    [TestCase("Telephony:Telnyx:FromNumber", "AuthServiceLtd", "FromNumber must be what Telnyx sends from")]
    [TestCase("Telephony:Telnyx:FromNumber", "AuthSvc", "sender id, which Telnyx sends from only with Telephony:Telnyx:MessagingProfileId")]
    public void Telnyx_placeholders_and_unsendable_from_addresses_are_refused(string key, string value, string problem)
    {
        var settings = new Dictionary<string, string?>(Complete) { [key] = value };

        var ex = Assert.Throws<InvalidOperationException>(() => Build(settings, "Production"));

        Assert.That(ex!.Message, Does.Contain(problem));
    }

    [TestCase("+13125550100")]
    [TestCase("12345")]
    [TestCase("AuthSvc")]
    [TestCase("Acme 2FA")]
    public void A_number_short_code_or_sender_id_is_a_from_address(string from)
    {
        using var services = Build(new Dictionary<string, string?>(Complete)
        {
            ["Telephony:Telnyx:FromNumber"] = from,
            ["Telephony:Telnyx:MessagingProfileId"] = "profile-9", // a sender id needs it (Telnyx's messages API)
        }, "Production");

        Assert.That(services.GetRequiredService<ITelephonySender>(), Is.InstanceOf<TelnyxTelephonySender>());
    }

    /// <summary>A TeXML call's From is "the phone number of the party that initiated the call" (+ and country code;
    /// contracts/telnyx/telnyx-v2-subset.yml, InitiateCallRequest): with the voice settings on, a short code or a sender id as
    /// FromNumber would be every call's caller id.</summary>
    [TestCase("12345")]
    [TestCase("AuthSvc")]
    public void Calls_need_a_number_as_caller_id(string from)
    {
        var settings = new Dictionary<string, string?>(Complete)
        {
            ["Telephony:Telnyx:FromNumber"] = from,
            ["Telephony:Telnyx:MessagingProfileId"] = "profile-9",
            ["Telephony:Telnyx:AccountSid"] = "AC1",
            ["Telephony:Telnyx:TexmlApplicationId"] = "app-1",
        };

        var ex = Assert.Throws<InvalidOperationException>(() => Build(settings, "Production"));

        Assert.That(ex!.Message, Does.Contain("FromNumber is the calls' caller id").And.Contain("must be an E.164 number"));
        settings["Telephony:Telnyx:FromNumber"] = "+13125550100";
        using var services = Build(settings, "Production");
    }

    [Test]
    public void A_number_pool_without_a_messaging_profile_is_refused()
    {
        var settings = new Dictionary<string, string?>(Complete) { ["Telephony:Telnyx:NumberPool"] = "true" };

        var ex = Assert.Throws<InvalidOperationException>(() => Build(settings, "Production"));

        Assert.That(ex!.Message, Does.Contain("NumberPool needs Telephony:Telnyx:MessagingProfileId"));
    }

    [Test]
    public void Unset_provider_means_telnyx_outside_Development_and_so_needs_credentials()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build([], "Production"));

        Assert.That(ex!.Message, Does.Contain("'telnyx' is misconfigured"));
    }

    [Test]
    public void Unset_provider_means_log_in_Development()
    {
        using var services = Build([], "Development");

        Assert.That(services.GetRequiredService<ITelephonySender>(), Is.InstanceOf<LogTelephonySender>());
    }

    [Test]
    public void Unknown_provider_is_refused()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(new() { ["Telephony:Provider"] = "twilio" }, "Development"));

        Assert.That(ex!.Message, Does.Contain("'telnyx' or 'log'"));
    }

    [Test]
    public void Telnyx_with_credentials_builds_the_typed_client_with_default_options()
    {
        using var services = Build(Complete, "Production");

        Assert.That(services.GetRequiredService<ITelephonySender>(), Is.InstanceOf<TelnyxTelephonySender>());
        var options = services.GetRequiredService<IOptions<TelnyxOptions>>().Value;
        Assert.That(options.BaseUrl, Is.EqualTo("https://api.telnyx.com/v2"));
        Assert.That(options.Resilience.AttemptTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(options.Resilience.MaxRetryAttempts, Is.EqualTo(2));
        Assert.That(options.Resilience.CircuitFailureRatio, Is.EqualTo(0.5));
        Assert.That(options.Resilience.CircuitMinimumThroughput, Is.EqualTo(5));
        Assert.That(options.Resilience.CircuitBreakDuration, Is.EqualTo(TimeSpan.FromSeconds(30)));
    }

    [Test]
    public void Telnyx_client_has_exactly_one_resilience_handler()
    {
        using var services = Build(Complete, "Production");
        var factory = services.GetRequiredService<IHttpMessageHandlerFactory>();

        var handlers = new List<Type>();
        HttpMessageHandler? handler = factory.CreateHandler(typeof(ITelephonySender).Name);
        while (handler is DelegatingHandler delegating)
        {
            handlers.Add(delegating.GetType());
            handler = delegating.InnerHandler;
        }

        Assert.That(handlers.Count(t => t.Name == "ResilienceHandler"), Is.EqualTo(1));
        Assert.That(handlers.IndexOf(typeof(TelnyxAnswerBuffer)), Is.GreaterThan(handlers.FindIndex(t => t.Name == "ResilienceHandler")),
            "the answer's body is read inside the pipeline, under each attempt's timeout");
        // The sender lives in singletons, so the factory never rotates its handler: the connections renew themselves.
        var primary = handler as SocketsHttpHandler;
        Assert.That(primary, Is.Not.Null);
        Assert.That((primary!.AllowAutoRedirect, primary.UseCookies, primary.PooledConnectionLifetime),
            Is.EqualTo((false, false, TimeSpan.FromMinutes(2))));
    }

    [Test]
    public void Timeouts_out_of_order_are_refused()
    {
        var settings = new Dictionary<string, string?>(Complete)
        {
            ["Telephony:Telnyx:Resilience:AttemptTimeout"] = "00:00:10",
            ["Telephony:Telnyx:Resilience:TotalTimeout"] = "00:00:05",
        };

        var ex = Assert.Throws<InvalidOperationException>(() => Build(settings, "Production"));

        Assert.That(ex!.Message, Does.Contain("AttemptTimeout <= TotalTimeout"));
    }

    /// <summary>Values Polly or the connection would refuse only when the first send builds the client (every send a 500) are
    /// refused at start instead, with the rest of the settings.</summary>
    [TestCase("AttemptTimeout", "00:00:00.001", "AttemptTimeout <= TotalTimeout")]
    [TestCase("AttemptTimeout", "00:00:00", "AttemptTimeout <= TotalTimeout")]
    [TestCase("RetryBaseDelay", "-00:00:01", "RetryBaseDelay must be between 0 and TotalTimeout")]
    [TestCase("RetryBaseDelay", "00:01:00", "RetryBaseDelay must be between 0 and TotalTimeout")]
    public void Resilience_values_the_pipeline_cannot_take_are_refused_at_start(string key, string value, string message)
    {
        var settings = new Dictionary<string, string?>(Complete) { ["Telephony:Telnyx:Resilience:" + key] = value };

        var ex = Assert.Throws<InvalidOperationException>(() => Build(settings, "Production"));

        Assert.That(ex!.Message, Does.Contain(message));
    }

    [Test]
    public void A_total_timeout_that_could_outlast_the_idempotency_lease_is_refused()
    {
        var settings = new Dictionary<string, string?>(Complete) { ["Telephony:Telnyx:Resilience:TotalTimeout"] = "00:00:21" };

        var ex = Assert.Throws<InvalidOperationException>(() => Build(settings, "Production"));

        Assert.That(ex!.Message, Does.Contain("TotalTimeout must be at most 20 s"));
        settings["Telephony:Telnyx:Resilience:TotalTimeout"] = "00:00:20";
        Assert.DoesNotThrow(() => Build(settings, "Production").Dispose());
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings, string environment) =>
        TelephonyHarness.BuildServices(settings, environment, new CapturingLoggerProvider());
}
