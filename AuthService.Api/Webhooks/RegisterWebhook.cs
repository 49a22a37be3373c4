using System.Security.Cryptography;
using AuthService.Core.Security;
using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>Registers a webhook endpoint: a fresh signing secret, sealed under the key ring and bound to the endpoint id,
/// stored with it; the secret in clear leaves only once, in the creation answer.</summary>
public sealed class RegisterWebhook(NpgsqlDataSource dataSource, SecretBox secrets)
{
    /// <summary>A Standard Webhooks secret: <c>whsec_</c> and 32 random bytes in base64.</summary>
    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public async Task<(WebhookEndpointRow Row, string Secret)> CreateAsync(string url, string[] events, string? description,
        DateTimeOffset now, Guid? createdBy, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7(now);
        var secret = NewSecret();
        var sealedSecret = secrets.Seal(secret, SealContexts.WebhookSecret(id));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await WebhookStore.InsertEndpointAsync(connection, id, url, events, description, sealedSecret, now, createdBy,
            cancellationToken);
        return (row, secret);
    }
}
