using System.Diagnostics;
using AuthService.Api.Telephony;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WireMock.ResponseBuilders;
using WireMock.Settings;

namespace AuthService.Tests.Telephony;

public class TelnyxResilienceTests
{
    private TelephonyHarness _harness = null!;

    [TearDown]
    public void TearDown() => _harness.Dispose();

    [Test]
    public async Task Retries_on_503_then_succeeds()
    {
        _harness = TelephonyHarness.Start();
        _harness.RespondInSequence(_harness.MessagesPath,
            TelephonyHarness.Error(503), TelephonyHarness.Error(503), TelephonyHarness.MessageAccepted("third-time"));

        var receipt = await _harness.SendAsync(TelephonyHarness.Sms());

        Assert.That(receipt.ProviderMessageId, Is.EqualTo("third-time"));
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Retries_on_429_honouring_Retry_After_then_succeeds()
    {
        _harness = TelephonyHarness.Start();
        _harness.RespondInSequence(_harness.MessagesPath,
            TelephonyHarness.Error(429, "10011", "Too many requests").WithHeader("Retry-After", "0"),
            TelephonyHarness.MessageAccepted("after-limit"));

        var receipt = await _harness.SendAsync(TelephonyHarness.Sms());

        Assert.That(receipt.ProviderMessageId, Is.EqualTo("after-limit"));
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(2));
    }

    /// <summary>Issue 14: this test used to be <c>Retries_on_a_reset_connection_then_succeeds</c> and asserted three requests
    /// and a success: three identical SMS at the provider. A reset after the request was written proves nothing about the
    /// message, so it is not retried and the caller learns the message may have gone out.</summary>
    [Test]
    public async Task A_reset_after_the_request_was_sent_is_not_retried_and_may_have_been_delivered()
    {
        using var telnyx = new ResettingServer(resetFirst: 2, okBody: """{"data":{"id":"after-reset"}}""");
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:BaseUrl"] = telnyx.Url + "/v2");

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        Assert.That(telnyx.Requests, Has.Count.EqualTo(1), "exactly one message at the provider");
        Assert.That(telnyx.Bodies.Single(), Does.Contain(TelephonyHarness.Code), "the provider received the whole request");
        Assert.That(ex!.MayHaveBeenDelivered, Is.True);
        Assert.That(ex.Transient, Is.True);
        Assert.That(ex.Message, Does.Contain("may have been sent"));
        Assert.That(ex.InnerException, Is.InstanceOf<HttpRequestException>());
    }

    [Test]
    public async Task A_call_reset_after_the_request_was_sent_is_not_retried_either()
    {
        using var telnyx = new ResettingServer(resetFirst: int.MaxValue, okBody: "{}");
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:BaseUrl"] = telnyx.Url + "/v2");

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Call()));

        Assert.That(ex!.MayHaveBeenDelivered, Is.True);
        Assert.That(telnyx.Requests, Has.Count.EqualTo(1));
    }

    /// <summary>A refused connection (a reset answering the connect) proves nothing was sent: it is retried (the backoff
    /// runs on the pipeline's fake clock) and the provider gets the message once.</summary>
    [Test]
    public async Task A_refused_connection_is_retried_and_the_message_sent_once()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        using var telnyx = new ResettingServer(resetFirst: 0, okBody: """{"data":{"id":"after-refusal"}}""", listening: false);
        var attempts = new AttemptProbe();
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:BaseUrl"] = telnyx.Url + "/v2", time, attempts.AddTo);

        var send = _harness.SendAsync(TelephonyHarness.Sms());
        await _harness.Logs.WaitForAsync(e => e.Message.Contains("failed before anything was sent", StringComparison.Ordinal));
        Assert.That(telnyx.Requests, Is.Empty);
        telnyx.Listen();
        // Polly logs the retry just before it starts the backoff's timer on the fake clock: move the clock in small steps
        // until the retry has started (one step of 1 s could come before the timer and never fire it), then no further, so
        // the retry's own attempt timeout is never reached on the fake clock however slowly its request travels.
        var deadline = Stopwatch.StartNew();
        while (attempts.Started < 2 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            time.Advance(TimeSpan.FromMilliseconds(20));
            await Task.Delay(25); // polling the pipeline's state, not driving the service's clock
        }

        Assert.That(attempts.Started, Is.EqualTo(2), "the backoff ended and the retry started");

        var receipt = await send.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(receipt.ProviderMessageId, Is.EqualTo("after-refusal"));
        Assert.That(telnyx.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Garbled_body_after_a_200_counts_as_sent_and_is_not_resent()
    {
        // Telnyx answered 200, so it took the message: sending again would deliver twice.
        _harness = TelephonyHarness.Start();
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.MessageAccepted().WithFault(FaultType.MALFORMED_RESPONSE_CHUNK));

        var receipt = await _harness.SendAsync(TelephonyHarness.Sms());

        Assert.That(receipt.Provider, Is.EqualTo("telnyx"));
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Gives_up_after_two_retries_as_transient()
    {
        _harness = TelephonyHarness.Start();
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.Error(503));

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        Assert.That(ex!.Transient, Is.True);
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(3));
    }

    [TestCase(400, false)]
    [TestCase(401, false)]
    [TestCase(422, false)]
    [TestCase(500, true)]
    [TestCase(502, true)]
    [TestCase(504, true)]
    public async Task Does_not_retry_where_a_resend_could_double_deliver_or_cannot_help(int status, bool transient)
    {
        _harness = TelephonyHarness.Start();
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.Error(status));

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        Assert.That(ex!.Transient, Is.EqualTo(transient));
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(1));
    }

    [TestCase(503, true, false)]
    [TestCase(400, false, false)]
    [TestCase(502, true, true)]
    public async Task An_error_page_in_a_charset_dotnet_cannot_decode_is_still_the_status_it_carries(int status, bool transient, bool mayHaveBeenDelivered)
    {
        // A proxy in front of Telnyx answering with its own HTML page: reading it for the log used to throw, and the send
        // surfaced as a 500 with the delivery neither refunded nor known to be uncertain.
        _harness = TelephonyHarness.Start();
        _harness.Respond(_harness.MessagesPath, Response.Create().WithStatusCode(status)
            .WithHeader("Content-Type", "text/html; charset=x-no-such-charset").WithBody("<html><body>Service Unavailable</body></html>"));

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        Assert.That(ex!.Transient, Is.EqualTo(transient));
        Assert.That(ex.MayHaveBeenDelivered, Is.EqualTo(mayHaveBeenDelivered));
    }

    [Test]
    public async Task Circuit_opens_after_repeated_failures_fails_fast_and_closes_after_the_break()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        _harness = TelephonyHarness.Start(time: time);
        _harness.RespondInSequence(_harness.MessagesPath,
            TelephonyHarness.Error(500), TelephonyHarness.Error(500), TelephonyHarness.Error(500),
            TelephonyHarness.Error(500), TelephonyHarness.Error(500), TelephonyHarness.MessageAccepted("recovered"));

        for (var i = 0; i < 5; i++)
            await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(5));

        for (var i = 0; i < 3; i++)
        {
            var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));
            Assert.That(ex!.Transient, Is.True);
            Assert.That(ex.InnerException, Is.InstanceOf<Polly.CircuitBreaker.BrokenCircuitException>());
        }

        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(5), "an open circuit must not reach Telnyx");

        // The break runs on the TimeProvider from DI: advancing the fake clock half-opens the circuit.
        time.Advance(TimeSpan.FromSeconds(31));
        var receipt = await _harness.SendAsync(TelephonyHarness.Sms());

        Assert.That(receipt.ProviderMessageId, Is.EqualTo("recovered"));
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(6));
    }

    /// <summary>A retry that waited out a long <c>Retry-After</c> has less time left than an attempt's timeout, so a stalled
    /// Telnyx ends it by the total timeout instead. The breaker used to take that cancellation for a success: as the
    /// half-open trial it closed the circuit, and the next sends went to a Telnyx that had just failed the trial.</summary>
    [Test]
    public async Task A_half_open_trial_cut_by_the_total_timeout_opens_the_circuit_again()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var attempts = new AttemptProbe();
        _harness = TelephonyHarness.Start(s =>
        {
            s["Telephony:Telnyx:Resilience:AttemptTimeout"] = "00:00:02";
            s["Telephony:Telnyx:Resilience:CircuitMinimumThroughput"] = "2";
            s["Telephony:Telnyx:Resilience:CircuitBreakDuration"] = "00:00:01";
        }, time, attempts.AddTo);
        // SMS: a 429 asking for 4 s (1 s of the 5 s total left for the retry), then a stall, then acceptance.
        var smsRequests = 0;
        using var release = new ManualResetEventSlim();
        _harness.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(_harness.MessagesPath).UsingPost())
            .RespondWith(Response.Create().WithCallback(_ => Interlocked.Increment(ref smsRequests) switch
            {
                1 => new WireMock.ResponseMessage { StatusCode = 429, Headers = new Dictionary<string, WireMock.Types.WireMockList<string>> { ["Retry-After"] = new("4") } },
                2 => Stall(release),
                _ => new WireMock.ResponseMessage { StatusCode = 200 },
            }));
        _harness.Respond(_harness.CallsPath, TelephonyHarness.Error(500));

        var stalled = _harness.SendAsync(TelephonyHarness.Sms());
        await _harness.Logs.WaitForAsync(e => e.Message.Contains("failed before anything was sent", StringComparison.Ordinal));
        // The 429 and this 500: two failures of two, and the circuit opens for 1 s.
        var opened = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Call()));
        Assert.That(opened!.Message, Does.Contain("HTTP 500"));

        // Move the clock in small steps until the SMS's retry starts (4 s in): the break is over, so it is the trial. Steps of
        // 50 ms leave 20 of them for the retry's timer to be set after its log line before the total timeout could fire.
        var deadline = Stopwatch.StartNew();
        while (attempts.Started < 3 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(25); // polling the pipeline's state, not driving the service's clock
        }

        Assert.That(attempts.Started, Is.EqualTo(3), "the SMS's retry started");
        await WaitUntilAsync(() => Volatile.Read(ref smsRequests) == 2);
        time.Advance(TimeSpan.FromSeconds(1)); // the total timeout, before the trial's own 2 s

        var cut = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => stalled.WaitAsync(TimeSpan.FromSeconds(10)));
        release.Set();
        Assert.That(cut!.MayHaveBeenDelivered, Is.True);
        Assert.That((cut.InnerException as Polly.Timeout.TimeoutRejectedException)?.Timeout, Is.EqualTo(TimeSpan.FromSeconds(5)),
            "the total timeout, not the attempt's");

        var next = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));
        Assert.That(next!.InnerException, Is.InstanceOf<Polly.CircuitBreaker.BrokenCircuitException>(), "the failed trial opened the circuit again");
        Assert.That(next.MayHaveBeenDelivered, Is.False);
        Assert.That(Volatile.Read(ref smsRequests), Is.EqualTo(2), "nothing more reached Telnyx");
    }

    /// <summary>The other side of the rule above: a send its caller gave up on says nothing about Telnyx, so it does not count
    /// towards opening the circuit.</summary>
    [Test]
    public async Task Sends_their_caller_cancelled_do_not_open_the_circuit()
    {
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:Resilience:CircuitMinimumThroughput"] = "2");
        var slow = _harness.RespondSlowly(_harness.CallsPath);
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.MessageAccepted("still-closed"));

        for (var i = 1; i <= 2; i++)
        {
            using var caller = new CancellationTokenSource();
            var send = _harness.Sender.SendCodeAsync(TelephonyHarness.Call(), caller.Token);
            await WaitUntilAsync(() => slow.Arrivals == i);
            await caller.CancelAsync();
            await Assert.ThrowsAsync<TaskCanceledException>(() => send.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        var receipt = await _harness.SendAsync(TelephonyHarness.Sms());
        Assert.That(receipt.ProviderMessageId, Is.EqualTo("still-closed"));
    }

    private static WireMock.ResponseMessage Stall(ManualResetEventSlim release)
    {
        release.Wait(TimeSpan.FromSeconds(10));
        return new WireMock.ResponseMessage { StatusCode = 503 };
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition() && deadline.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(10); // polling a real server's state
        Assert.That(condition(), Is.True);
    }

    [Test]
    public async Task Provider_slower_than_the_attempt_timeout_fails_transient_without_retry_on_the_fake_clock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        _harness = TelephonyHarness.Start(time: time);
        var slow = _harness.RespondSlowly(_harness.MessagesPath);

        var send = _harness.SendAsync(TelephonyHarness.Sms());
        await slow.FirstArrival.WaitAsync(TimeSpan.FromSeconds(5));
        var clock = Stopwatch.StartNew(); // from the arrival: the fake clock's timeout, not the real one, must end the send
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.That(send.IsCompleted, Is.False, "still inside the 1 s attempt timeout");
        time.Advance(TimeSpan.FromMilliseconds(1));

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => send);
        Assert.That(ex!.Transient, Is.True);
        Assert.That(ex.InnerException, Is.InstanceOf<Polly.Timeout.TimeoutRejectedException>());
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(slow.Arrivals, Is.EqualTo(1), "a timed-out request may have reached Telnyx, so it is not resent");
    }

    /// <summary>HttpClient reads an answer's body after the resilience pipeline has ended, so an answer that stalled after its
    /// headers used to hold the send, the user's request and its idempotency claim until the client gave up. The body is now
    /// read inside the pipeline (TelnyxAnswerBuffer): the attempt timeout ends it, the breaker counts it, and the message may
    /// have been sent (a 200 was on its way).</summary>
    [Test]
    public async Task An_answer_that_stalls_after_its_headers_fails_at_the_attempt_timeout_as_possibly_sent()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        using var telnyx = new ResettingServer(resetFirst: 0, okBody: """{"data":{"id":"stalled-body"}}""", stallAfterHeaders: true);
        var headers = new AttemptProbe();
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:BaseUrl"] = telnyx.Url + "/v2", time, headers.AddTo);

        var send = _harness.SendAsync(TelephonyHarness.Sms());
        await headers.HeadersArrived.WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.That(send.IsCompleted, Is.False, "still inside the 1 s attempt timeout");
        time.Advance(TimeSpan.FromMilliseconds(1));

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => send.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.That(ex!.MayHaveBeenDelivered, Is.True);
        Assert.That(ex.Transient, Is.True);
        Assert.That(ex.Message, Does.Contain("timed out"));
        Assert.That(ex.InnerException, Is.InstanceOf<Polly.Timeout.TimeoutRejectedException>(), "the attempt's timeout, seen by the breaker");
        Assert.That(telnyx.Requests, Has.Count.EqualTo(1), "not resent");
    }

    /// <summary>A 429 (or 503) proves nothing was sent, and its Retry-After is honoured; a wait that outlasts the total timeout
    /// used to end as "timed out, may have been sent" (an unknown outcome: no refund, and a keyed retry replaying it for a
    /// day). The exchange ended between attempts, each of which sent nothing: it was not sent.</summary>
    [Test]
    public async Task A_retry_wait_cut_by_the_total_timeout_sent_nothing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        _harness = TelephonyHarness.Start(time: time);
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.Error(429, "10011", "Too many requests").WithHeader("Retry-After", "60"));

        var send = _harness.SendAsync(TelephonyHarness.Sms());
        await _harness.Logs.WaitForAsync(e => e.Message.Contains("failed before anything was sent", StringComparison.Ordinal));
        time.Advance(TimeSpan.FromSeconds(5)); // the harness's total timeout, well before the 60 s the 429 asked for

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => send.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.That((ex!.MayHaveBeenDelivered, ex.Transient), Is.EqualTo((false, true)));
        Assert.That(ex.Message, Does.Contain("was not sent"));
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(1));
    }

    /// <summary>The other side: a timeout that ends an attempt in flight may come after Telnyx took the message.</summary>
    [Test]
    public async Task A_total_timeout_during_an_attempt_may_have_sent()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:Resilience:AttemptTimeout"] = "00:00:05", time);
        var slow = _harness.RespondSlowly(_harness.MessagesPath);

        var send = _harness.SendAsync(TelephonyHarness.Sms());
        await slow.FirstArrival.WaitAsync(TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(5));

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => send.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.That(ex!.MayHaveBeenDelivered, Is.True);
    }

    /// <summary>Any other failure once the request may have left (here a handler inside the pipeline throwing) is a send that
    /// may have gone out, not a 500: a 500 would release the user's Idempotency-Key and let a retry send again.</summary>
    [Test]
    public async Task An_unexpected_failure_in_the_exchange_may_have_sent()
    {
        _harness = TelephonyHarness.Start(services: services => services
            .AddHttpClient(TelephonyServiceCollectionExtensions.TelnyxClientName)
            .AddHttpMessageHandler(() => new ThrowingAfterSend()));
        _harness.Respond(_harness.MessagesPath, TelephonyHarness.MessageAccepted());

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        Assert.That(ex!.MayHaveBeenDelivered, Is.True);
        Assert.That(ex.InnerException, Is.InstanceOf<InvalidOperationException>());
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(1), "not resent");
    }

    private sealed class ThrowingAfterSend : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var response = await base.SendAsync(request, cancellationToken);
            throw new InvalidOperationException("an unexpected failure after the answer arrived");
        }
    }

    /// <summary>Telnyx's API never redirects. Followed, a redirect turned the POST into a GET elsewhere and reported that
    /// answer as the message's receipt.</summary>
    [Test]
    public async Task A_redirect_is_a_refusal_and_is_not_followed()
    {
        _harness = TelephonyHarness.Start();
        _harness.Respond(_harness.MessagesPath, Response.Create().WithStatusCode(302).WithHeader("Location", "/elsewhere"));
        _harness.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/elsewhere")).RespondWith(TelephonyHarness.MessageAccepted("elsewhere"));

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        Assert.That(ex!.Transient, Is.False);
        Assert.That(ex.MayHaveBeenDelivered, Is.False);
        Assert.That(ex.Message, Does.Contain("HTTP 302"));
        Assert.That(_harness.Requests("/elsewhere"), Is.Empty);
    }

    /// <summary>A proxy's page of megabytes is not read into memory: the read stops at 1 MiB and the body is dropped, and the
    /// status stands: a 200 was accepted (sent once, no id), a 503 refused (retried, nothing sent).</summary>
    [Test]
    public async Task An_answer_over_a_mebibyte_is_not_read_and_its_status_stands()
    {
        // Real clock, four exchanges of a mebibyte: timeouts far off, so a slow machine cannot turn a status into a timeout.
        _harness = TelephonyHarness.Start(s =>
        {
            s["Telephony:Telnyx:Resilience:AttemptTimeout"] = "00:00:10";
            s["Telephony:Telnyx:Resilience:TotalTimeout"] = "00:00:20";
        });
        var huge = "{\"pad\":\"" + new string('x', TelephonyServiceCollectionExtensions.MaxResponseBytes) + "\"}";
        _harness.Respond(_harness.MessagesPath, Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(huge));
        _harness.Respond(_harness.CallsPath, Response.Create().WithStatusCode(503).WithHeader("Content-Type", "text/html").WithBody(huge));

        var receipt = await _harness.SendAsync(TelephonyHarness.Sms());
        var refused = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Call()));

        Assert.That(receipt.ProviderMessageId, Is.Null);
        Assert.That(_harness.Requests(_harness.MessagesPath), Has.Count.EqualTo(1), "sent once");
        Assert.That((refused!.MayHaveBeenDelivered, refused.Transient), Is.EqualTo((false, true)));
        Assert.That(refused.Message, Does.Contain("HTTP 503"));
        Assert.That(_harness.Requests(_harness.CallsPath), Has.Count.EqualTo(3), "a 503 is retried like any other");
    }

    [Test]
    public async Task Provider_slower_than_the_attempt_timeout_fails_within_bounded_real_time()
    {
        var attempts = new AttemptProbe();
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:Resilience:AttemptTimeout"] = "00:00:00.300", services: attempts.AddTo);
        var slow = _harness.RespondSlowly(_harness.CallsPath);
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Call()));

        Assert.That(ex!.Transient, Is.True);
        Assert.That(ex.MayHaveBeenDelivered, Is.True);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)), "well inside the 5 s total timeout: the 300 ms attempt timeout ended it");
        // Counted inside the pipeline, not at the stand-in: on a loaded machine the 300 ms can end the attempt before its
        // request arrives there, but once it was under way it may have been sent, so it is not resent.
        Assert.That(attempts.Started, Is.EqualTo(1), "not resent");
        Assert.That(slow.Arrivals, Is.AtMost(1));
    }

    [Test]
    public async Task Connection_refused_fails_fast_as_transient()
    {
        _harness = TelephonyHarness.Start();
        var deadUrl = _harness.Server.Url!;
        _harness.Dispose();
        _harness = TelephonyHarness.Start(s => s["Telephony:Telnyx:BaseUrl"] = deadUrl + "/v2");
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        Assert.That(ex!.Transient, Is.True);
        Assert.That(ex.InnerException, Is.InstanceOf<HttpRequestException>());
        Assert.That(((HttpRequestException)ex.InnerException!).HttpRequestError, Is.EqualTo(HttpRequestError.ConnectionError));
        Assert.That(ex.MayHaveBeenDelivered, Is.False, "a refused connection sent nothing");
        Assert.That(_harness.Logs.Entries.Count(e => e.Message.Contains("failed before anything was sent", StringComparison.Ordinal)), Is.EqualTo(2),
            "refused connections are retried twice");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
    }

    /// <summary>A TLS handshake that never completes (a peer that accepts the connection and says nothing, as a blackholed
    /// path or a stuck proxy does) means no byte of the request left: at the connect timeout (half the attempt's) it is a
    /// connection failure, retried, and the send fails as not sent. It used to run into the attempt's timeout while
    /// counted as under way, and was reported as possibly delivered, so its budget was kept and a code no one got stored.</summary>
    [Test]
    public async Task A_tls_handshake_that_never_completes_sent_nothing_and_is_retried()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var accepted = 0;
        var held = new System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.TcpClient>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    held.Add(await silent.AcceptTcpClientAsync());
                    Interlocked.Increment(ref accepted);
                }
                catch (Exception e) when (e is ObjectDisposedException or System.Net.Sockets.SocketException)
                {
                    return;
                }
            }
        });
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        _harness = TelephonyHarness.Start(s =>
        {
            s["Telephony:Telnyx:BaseUrl"] = $"https://127.0.0.1:{port}/v2";
            s["Telephony:Telnyx:Resilience:AttemptTimeout"] = "00:00:01";
        });
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<TelephonyUnavailableException>(() => _harness.SendAsync(TelephonyHarness.Sms()));

        foreach (var client in held)
        {
            client.Dispose();
        }

        Assert.Multiple(() =>
        {
            Assert.That(ex!.MayHaveBeenDelivered, Is.False, "no TLS session, so no request was written");
            Assert.That(ex.Transient, Is.True);
            Assert.That(Volatile.Read(ref accepted), Is.EqualTo(3), "retried twice, as a refused connection is");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "inside the total timeout");
        });
    }
}
