using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AuthService.Tests.Webhooks;

/// <summary>One request as the receiver saw it, and whether its signature verified with <see cref="IndependentVerifier"/>.</summary>
public sealed record ReceivedWebhook(string Id, string Timestamp, string Signature, string Body, bool SignatureValid)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string Type => Json.GetProperty("type").GetString()!;

    public JsonElement Data => Json.GetProperty("data");

    public string? UserId => Data.TryGetProperty("userId", out var u) ? u.GetString() : null;
}

/// <summary>The portal side of the contract, written from the Standard Webhooks specification alone (no shared code
/// with the service): HMAC-SHA256 over <c>{id}.{timestamp}.{body}</c>, keyed with the base64 part of the secret.</summary>
public static class IndependentVerifier
{
    public static bool Verify(string secret, string id, string timestamp, string body, string signatureHeader)
    {
        var key = Convert.FromBase64String(secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret[6..] : secret);
        var expected = Encoding.ASCII.GetBytes("v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}"))));
        return signatureHeader.Split(' ').Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), expected));
    }
}

/// <summary>A real HTTP receiver on loopback (Kestrel) that records every request, verifies its signature, and
/// answers as told: 204, a status (e.g. 503 while "down"), or not at all until released (a hanging receiver).</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private volatile int _status = 204;
    private volatile TaskCompletionSource? _hang;
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StrongBox<int> _connections;

    private WebhookReceiver(WebApplication app, StrongBox<int> connections) => (_app, _connections) = (app, connections);

    public string Url { get; private set; } = "";

    /// <summary>Set after the endpoint is created, so signatures can be checked as requests arrive.</summary>
    public string? Secret { get; set; }

    public IReadOnlyList<ReceivedWebhook> Received => _received.ToList();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var connections = new StrongBox<int>();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async connection =>
        {
            // Counted until Kestrel is done with the connection, the handling of its requests included.
            Interlocked.Increment(ref connections.Value);
            try
            {
                await next(connection);
            }
            finally
            {
                Interlocked.Decrement(ref connections.Value);
            }
        })));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, connections);
        app.MapPost("/hooks", receiver.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = address.Replace("[::]", "127.0.0.1") + "/hooks";
        return receiver;
    }

    /// <summary>Waits until no connection is open: every request that reached this receiver has been recorded or given up,
    /// e.g. after its sender was killed (a request whose bytes were in flight at the kill is still read and recorded).
    /// False when connections are still open after <paramref name="timeout"/>.</summary>
    public async Task<bool> NoConnectionsAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Volatile.Read(ref _connections.Value) > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>Answer every request with this status (204 = up, 503 = down).</summary>
    public void AnswerWith(int status) => _status = status;

    /// <summary>Hold every request until <see cref="Release"/>.</summary>
    public void Hang() => _hang = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => Interlocked.Exchange(ref _hang, null)?.TrySetResult();

    /// <summary>Completes when the next request arrives (its headers and body were read).</summary>
    public Task NextArrival()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _arrived, arrived);
        return arrived.Task;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync();
        string Header(string name) => context.Request.Headers[name].ToString();
        var (id, timestamp, signature) = (Header("webhook-id"), Header("webhook-timestamp"), Header("webhook-signature"));
        var valid = Secret is not null && IndependentVerifier.Verify(Secret, id, timestamp, body, signature);
        _received.Enqueue(new ReceivedWebhook(id, timestamp, signature, body, valid));
        Volatile.Read(ref _arrived).TrySetResult();
        if (_hang is { } hang)
        {
            try
            {
                await hang.Task.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        context.Response.StatusCode = _status;
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
