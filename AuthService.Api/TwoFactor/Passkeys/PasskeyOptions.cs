using Fido2NetLib;
using Microsoft.Extensions.Options;
using AuthService.Core.Text;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary><c>Passkeys:*</c> — the WebAuthn relying party. Without <see cref="RelyingPartyId"/> the passkey method is
/// off (409 <c>passkeys_not_configured</c>); with it, every setting is checked at start.</summary>
public sealed class PasskeyOptions
{
    /// <summary>The RP ID (WebAuthn §5.1.2): the portal's registrable domain, e.g. <c>example.com</c>, no scheme or port.
    /// Credentials are bound to it; changing it later orphans every enrolled passkey.</summary>
    public string? RelyingPartyId { get; set; }

    /// <summary>The name authenticators show beside the account.</summary>
    public string RelyingPartyName { get; set; } = "AuthService";

    /// <summary>The exact origins (<c>https://portal.example.com</c>) the portal's pages run on; an assertion made on
    /// any other origin is refused, which is what makes passkeys phishing-resistant.</summary>
    public List<string> Origins { get; set; } = [];

    /// <summary>How long a registration or authentication challenge lives (DESIGN §8.4: 5 minutes).</summary>
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromMinutes(5);

    public bool Enabled => !string.IsNullOrWhiteSpace(RelyingPartyId);

    /// <summary>The first thing wrong with the settings, or null.</summary>
    public string? Problem()
    {
        if (!Enabled)
        {
            return Origins.Count > 0 ? "Passkeys:Origins is set but Passkeys:RelyingPartyId is not." : null;
        }

        var rpId = RelyingPartyId!;
        if (rpId != rpId.ToLowerInvariant() || Uri.CheckHostName(rpId) != UriHostNameType.Dns)
        {
            return $"Passkeys:RelyingPartyId '{rpId}' must be a lowercase domain name without scheme, port or path (e.g. example.com).";
        }

        if (string.IsNullOrWhiteSpace(RelyingPartyName) || !PrintableText.IsValid(RelyingPartyName))
        {
            return $"Passkeys:RelyingPartyName must be 1–{PrintableText.MaxLength} printable characters.";
        }

        if (Origins.Count == 0)
        {
            return "Passkeys:Origins must list at least one origin (e.g. https://portal.example.com).";
        }

        foreach (var origin in Origins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.PathAndQuery != "/" || !string.IsNullOrEmpty(uri.Fragment) ||
                origin.TrimEnd('/').Length != uri.GetLeftPart(UriPartial.Authority).Length)
            {
                return $"Passkeys:Origins entry '{origin}' must be scheme://host[:port] with nothing after it.";
            }

            // Browsers only offer WebAuthn in secure contexts: https, or http on the loopback host for development.
            if (uri.Scheme != "https" && !(uri.Scheme == "http" && uri.IsLoopback))
            {
                return $"Passkeys:Origins entry '{origin}' must use https (http only for localhost).";
            }

            // WebAuthn §5.1.2: the RP ID must be the origin's host or a registrable suffix of it.
            if (uri.Host != rpId && !uri.Host.EndsWith("." + rpId, StringComparison.Ordinal))
            {
                return $"Passkeys:Origins entry '{origin}' is not on Passkeys:RelyingPartyId '{rpId}' or a subdomain of it.";
            }
        }

        return null;
    }

    /// <summary>The Fido2 library's view of these settings.</summary>
    public Fido2Configuration ToFido2() => new()
    {
        RPID = RelyingPartyId,
        RPName = RelyingPartyName,
        Origins = new HashSet<string>(Origins.Select(o => o.TrimEnd('/')), StringComparer.Ordinal),
        Timeout = (uint)ChallengeLifetime.TotalMilliseconds,
        ChallengeSize = 32,
    };
}
