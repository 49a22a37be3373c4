using System.Security.Cryptography;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>Registers a webhook endpoint: its events and description checked, its URL through the SSRF guard, then a fresh
/// signing secret, sealed under the key ring and bound to the endpoint id, stored with it; the secret in clear leaves only
/// once, in the creation answer.</summary>
public sealed class RegisterWebhook(NpgsqlDataSource dataSource, SecretBox secrets, WebhookUrlGuard guard, TimeProvider time)
{
    public const int MaxEvents = 20;

    /// <summary>A Standard Webhooks secret: <c>whsec_</c> and 32 random bytes in base64.</summary>
    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public async Task<Result<CreatedWebhookResponse>> CreateAsync(CreateWebhookRequest request, Guid? createdBy, CancellationToken cancellationToken)
    {
        var events = request.Events?.Distinct().ToArray() ?? [];
        if (events.Length is 0 or > MaxEvents || !events.All(WebhookEvents.IsPattern))
        {
            return Problems.Validation($"events must list 1–{MaxEvents} of: {string.Join(", ", WebhookEvents.All)}, two_factor.*, api_key.*, *.");
        }

        var description = request.Description?.Trim();
        if (description is not null && !Core.Text.PrintableText.IsValid(description, 500))
        {
            return Problems.Validation("description must be at most 500 characters without control characters.");
        }

        if (await guard.CheckUrlAsync(request.Url, cancellationToken) is { } refused)
        {
            return new Problem(400, ProblemCodes.InvalidWebhookUrl, "The webhook URL is not allowed.", refused);
        }

        var (row, secret) = await StoreAsync(request.Url!, events, string.IsNullOrEmpty(description) ? null : description, time.GetUtcNow(),
            createdBy, cancellationToken);
        var created = row.ToResponse();
        return new CreatedWebhookResponse(created.Id, created.Url, created.Events, created.Description, created.CreatedAt, secret);
    }

    /// <summary>Stores an endpoint whose request was checked, with a fresh secret (also what a test uses to plant an endpoint
    /// the URL guard would refuse, to check that the delivery is guarded as well).</summary>
    public async Task<(WebhookEndpointRow Row, string Secret)> StoreAsync(string url, string[] events, string? description,
        DateTimeOffset now, Guid? createdBy, CancellationToken cancellationToken)
    {
        var id = Version7Ids.New(now);
        var secret = NewSecret();
        var sealedSecret = secrets.Seal(secret, SealContexts.WebhookSecret(id));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var row = await WebhookStore.InsertEndpointAsync(connection, transaction, id, url, events, description, sealedSecret, now, createdBy,
            cancellationToken);
        await AuditLog.AppendAsync(connection, transaction, null, new AuditEvent.WebhookEndpointCreated(id, HostOf(url), events), now, createdBy);
        await transaction.CommitAsync(cancellationToken);
        return (row, secret);
    }

    /// <summary>What the audit trail keeps of an endpoint's URL: its host and port.</summary>
    public static string HostOf(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Authority : "";
}
