using System.Net;
using System.Net.Sockets;

namespace AuthService.Api.Webhooks;

/// <summary>The SSRF guard (DESIGN §8.3): which URLs may be registered and which addresses a delivery may connect to.
/// The address check runs again on the address the request really connects to (<see cref="WebhookSender"/>), so a
/// name that resolves to a public address at registration and to 169.254.169.254 later is still refused.</summary>
public sealed class WebhookUrlGuard(bool allowInsecure, bool allowPrivateNetworks)
{
    public const int MaxUrlLength = 2000;

    /// <summary>The longest DNS name in text form (RFC 1035 §2.3.4: 255 octets on the wire).</summary>
    public const int MaxHostLength = 253;

    public bool AllowPrivateNetworks => allowPrivateNetworks;

    /// <summary>Null when a delivery may go to <paramref name="url"/>'s scheme now, else why not: an <c>http://</c> endpoint
    /// registered while <c>Webhooks:AllowInsecure</c> was on gets nothing in clear once it is off.</summary>
    public string? SchemeRefusal(string url) =>
        allowInsecure || (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps)
            ? null
            : "url must be https (Webhooks:AllowInsecure is off).";

    /// <summary>Null when the URL may be registered, else why not (for the problem detail).</summary>
    public async Task<string?> CheckUrlAsync(string? url, CancellationToken cancellationToken)
    {
        // Characters as the schema's maxLength counts them: code points, not UTF-16 units.
        if (string.IsNullOrWhiteSpace(url) || url.EnumerateRunes().Count() > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return $"url must be an absolute URL of at most {MaxUrlLength} characters.";
        }

        if (url.Trim().Length != url.Length)
        {
            // Uri skips white space at either end, so " https://…" would pass here and be stored as sent.
            return "url must not begin or end with white space.";
        }

        if (!Core.Text.PrintableText.IsValid(url, MaxUrlLength))
        {
            // Uri does not check the path for control characters, and PostgreSQL refuses U+0000 in text.
            return "url must not contain control characters.";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && allowInsecure))
        {
            return allowInsecure ? "url must be http or https." : "url must be https (Webhooks:AllowInsecure is off).";
        }

        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return "url must not contain credentials or a fragment.";
        }

        string host;
        try
        {
            host = uri.IdnHost;
        }
        catch (UriFormatException)
        {
            // Uri accepts any letter in a host, and IDNA refuses some (a label mixing left-to-right and right-to-left
            // letters, say) only when the ASCII form is asked for.
            return "url's host name is not a valid international domain name (IDNA).";
        }

        if (host.Length > MaxHostLength)
        {
            // Uri checks each label (63) but not the whole name; the resolver refuses a longer one with an exception.
            return $"url's host name must be at most {MaxHostLength} characters (DNS).";
        }

        if (allowPrivateNetworks)
        {
            return null;
        }

        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            return Refusal([IPAddress.Parse(host.Trim('[', ']'))]);
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
            host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return Refusal([IPAddress.Loopback]);
        }

        try
        {
            return Refusal(await Dns.GetHostAddressesAsync(host, cancellationToken));
        }
        catch (SocketException)
        {
            return null; // not resolvable yet: every delivery checks the address it connects to
        }
    }

    /// <summary>Null when every address is public, else the refusal, naming the IPv4 address a refused 6to4 or Teredo
    /// address embeds.</summary>
    private static string? Refusal(IReadOnlyCollection<IPAddress> addresses) =>
        addresses.FirstOrDefault(a => !IsPublic(a)) is { } refused
            ? $"url points to a loopback, private or otherwise non-public address{Explain(refused)} (Webhooks:AllowPrivateNetworks is off)."
            : null;

    /// <summary>": 2002:808:808::1 is a 6to4 address embedding 8.8.8.8 …" for a tunnel address, else empty: for the
    /// refusal at registration and at send time, so an operator sees which IPv4 host the URL would really reach.</summary>
    public static string Explain(IPAddress address) => Tunnel(address) is { } tunnel
        ? $": {address} is a {tunnel}; a relay decides where such an address leads, so it is never a webhook target"
        : "";

    /// <summary>True when a delivery may connect to this address.</summary>
    public bool MayConnect(IPAddress address) => allowPrivateNetworks || IsPublic(address);

    /// <summary>Publicly routable unicast: not loopback, private (RFC 1918, ULA), link-local (cloud metadata), CGNAT,
    /// multicast, unspecified, reserved, benchmarking or documentation ranges; for IPv6 only global unicast (2000::/3) less
    /// those; IPv4-mapped IPv6 is judged as the IPv4 address.
    /// Addresses that reach IPv4 through a translator or a tunnel are refused whatever IPv4 address they embed, a public
    /// one included, since the relay or translator (possibly one inside our own network) picks the destination: NAT64
    /// (64:ff9b::/96, and the local-use 64:ff9b:1::/48 of RFC 8215, both inside 0::/8), 6to4 (2002::/16, RFC 3056) and
    /// Teredo (2001::/32, RFC 4380).</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] is 0 or 10 or 127 or >= 224 ||
                     (b[0] == 100 && b[1] is >= 64 and <= 127) ||
                     (b[0] == 169 && b[1] == 254) ||
                     (b[0] == 172 && b[1] is >= 16 and <= 31) ||
                     (b[0] == 192 && b[1] == 168) ||
                     (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2) ||
                     (b[0] == 192 && b[1] == 88 && b[2] == 99) || // 6to4 relay anycast (deprecated, RFC 7526)
                     (b[0] == 198 && b[1] is 18 or 19) ||
                     (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
                     (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        // Only global unicast, 2000::/3 (RFC 4291), can be public: the rest of the space is loopback, unspecified, ::/8 (NAT64's
        // 64:ff9b::/96 and 64:ff9b:1::/48 among it), discard-only and dummy prefixes, ULA, link- and site-local, multicast,
        // SRv6 SIDs (5f00::/16, RFC 9602) or not yet assigned. A list of refusals let such addresses through as public.
        var v6 = address.GetAddressBytes();
        if ((v6[0] & 0xE0) != 0x20)
        {
            return false;
        }

        return !((v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8) ||            // 2001:db8::/32 documentation
                 (v6[0] == 0x3f && v6[1] == 0xff && (v6[2] & 0xF0) == 0x00) ||                     // 3fff::/20 documentation (RFC 9637)
                 (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x00 && v6[3] == 0x02 && v6[4] == 0 && v6[5] == 0) || // 2001:2::/48 benchmarking
                 (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x00 && (v6[3] & 0xF0) == 0x10) ||    // 2001:10::/28 ORCHID (deprecated)
                 Tunnel(address) is not null);                                                    // 6to4, Teredo
    }

    /// <summary>"6to4 address embedding 8.8.8.8" (2002::/16: the IPv4 address is bytes 2–5) or "Teredo address embedding
    /// client 192.0.2.45 via server 65.54.227.120" (2001::/32: the server is bytes 4–7, the client the last 4 bytes
    /// inverted), else null.</summary>
    public static string? Tunnel(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return null;
        }

        var v6 = address.GetAddressBytes();
        if (v6[0] == 0x20 && v6[1] == 0x02)
        {
            return $"6to4 address embedding {new IPAddress(v6.AsSpan(2, 4))}";
        }

        if (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x00 && v6[3] == 0x00)
        {
            var client = v6.AsSpan(12, 4).ToArray();
            for (var i = 0; i < client.Length; i++)
            {
                client[i] ^= 0xff;
            }

            return $"Teredo address embedding client {new IPAddress(client)} via server {new IPAddress(v6.AsSpan(4, 4))}";
        }

        return null;
    }
}
