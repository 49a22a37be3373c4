using AuthService.Api.Telephony;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AuthService.Tests.Telephony;

public class TelephonyLoggingTests
{
    private const string Masked = "+1******0123";
    private static readonly string[] Secrets =
    [
        TelephonyHarness.Phone,
        TelephonyHarness.Phone.TrimStart('+'),
        TelephonyHarness.Code,
        "4, 8, 2, 9, 1, 3",
        "Your Acme verification code is 482913. It expires in 10 minutes.",
    ];

    private TelephonyHarness _harness = null!;

    [SetUp]
    public void SetUp() => _harness = TelephonyHarness.Start();

    [TearDown]
    public void TearDown() => _harness.Dispose();

    [Test]
    public async Task Telnyx_error_body_is_logged_without_number_code_or_text()
    {
        // Telnyx quotes the request back in its details; none of it may reach the log.
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.Error(400, "40310", "Invalid 'to' address",
            $"The 'to' address {TelephonyHarness.Phone} rejected text 'Your Acme verification code is {TelephonyHarness.Code}. It expires in 10 minutes.'"));

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        var rejected = _harness.Logs.Entries.Single(e => e.Message.StartsWith("Telnyx rejected", StringComparison.Ordinal));
        Assert.That(rejected.Level, Is.EqualTo(LogLevel.Error));
        Assert.That(rejected.Message, Does.Contain("40310"));
        Assert.That(rejected.Message, Does.Contain("Invalid 'to' address"));
        Assert.That(rejected.Message, Does.Contain("HTTP 400"));
        Assert.That(rejected.Message, Does.Contain(Masked));
        AssertNoSecrets();
        Assert.That(ex!.Message, Does.Not.Contain(TelephonyHarness.Phone));
    }

    /// <summary>A call carries the code as TeXML, spoken digit by digit; a refusal that quotes the script back used to log the
    /// code in that spaced form, which the redaction did not know.</summary>
    [Test]
    public async Task A_refused_call_that_quotes_its_script_is_logged_without_the_spoken_code()
    {
        var script = TelephonyHarness.Call().Texml;
        Assert.That(script, Does.Contain("4, 8, 2, 9, 1, 3"), "the script speaks the code digit by digit");
        _harness.Respond(_harness.CallsPath, TelephonyHarness.Error(422, "90046", "Invalid TeXML", $"Could not parse Texml '{System.Text.Json.JsonEncodedText.Encode(script)}'"));

        await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Call()));

        var rejected = _harness.Logs.Entries.Single(e => e.Message.StartsWith("Telnyx rejected", StringComparison.Ordinal));
        Assert.That(rejected.Message, Does.Contain("90046 Invalid TeXML"));
        AssertNoSecrets();
    }

    [Test]
    public async Task Transient_failures_and_successes_log_only_the_masked_number()
    {
        _harness.RespondInSequence(_harness.CallsPath,
            TelephonyHarness.Error(503, "90001", "Service unavailable", $"try later, {TelephonyHarness.Phone}"),
            TelephonyHarness.Error(500, "90002", "Internal error", $"code {TelephonyHarness.Code}"),
            TelephonyHarness.CallAccepted());
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.MessageAccepted());

        await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Call()));
        await _harness.SendAsync(TelephonyHarness.Call());
        await _harness.SendAsync(TelephonyHarness.Sms());

        var messages = _harness.Logs.Entries.Select(e => e.Message).ToList();
        Assert.That(messages, Has.Some.Contains("90002 Internal error"));
        Assert.That(messages, Has.Some.StartsWith($"Sent Call code to {Masked}"));
        Assert.That(messages, Has.Some.StartsWith($"Sent Sms code to {Masked}"));
        AssertNoSecrets();
    }

    [Test]
    public async Task Log_provider_writes_a_marked_dev_code_with_the_masked_number()
    {
        var logs = new CapturingLoggerProvider();
        using var services = TelephonyHarness.BuildServices(new() { ["Telephony:Provider"] = "log" }, "Development", logs);
        var sender = services.GetRequiredService<ITelephonySender>();

        var receipt = await sender.SendCodeAsync(TelephonyHarness.Sms(), CancellationToken.None);

        Assert.That(sender, Is.InstanceOf<LogTelephonySender>());
        Assert.That(receipt.Provider, Is.EqualTo("log"));
        var line = logs.Entries.Single(e => e.Message.StartsWith("DEV CODE", StringComparison.Ordinal));
        Assert.That(line.Message, Does.StartWith($"DEV CODE for {Masked}: {TelephonyHarness.Code}"));
        Assert.That(line.Everything, Does.Not.Contain(TelephonyHarness.Phone));
    }

    private void AssertNoSecrets()
    {
        Assert.That(_harness.Logs.Entries, Is.Not.Empty);
        foreach (var entry in _harness.Logs.Entries)
        {
            foreach (var secret in Secrets)
                Assert.That(entry.Everything, Does.Not.Contain(secret), $"{entry.Category} logged a secret");
        }
    }
}
