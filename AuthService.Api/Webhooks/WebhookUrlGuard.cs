using System.Net;
using System.Net.Sockets;

namespace AuthService.Api.Webhooks;

/// <summary>The SSRF guard (DESIGN §8.3): which URLs may be registered and which addresses a delivery may connect to.
/// The address check runs again on the address the request really connects to (<see cref="WebhookSender"/>), so a
/// name that resolves to a public address at registration and to 169.254.169.254 later is still refused.</summary>
public sealed class WebhookUrlGuard(bool allowInsecure, bool allowPrivateNetworks)
{
    public const int MaxUrlLength = 2000;

    public bool AllowPrivateNetworks => allowPrivateNetworks;

    /// <summary>Null when the URL may be registered, else why not (for the problem detail).</summary>
    public async Task<string?> CheckUrlAsync(string? url, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return $"url must be an absolute URL of at most {MaxUrlLength} characters.";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && allowInsecure))
        {
            return allowInsecure ? "url must be http or https." : "url must be https (Webhooks:AllowInsecure is off).";
        }

        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return "url must not contain credentials or a fragment.";
        }

        if (allowPrivateNetworks)
        {
            return null;
        }

        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            return IsPublic(IPAddress.Parse(uri.IdnHost.Trim('[', ']'))) ? null : PrivateRefusal;
        }

        if (uri.IdnHost.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
            uri.IdnHost.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return PrivateRefusal;
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(uri.IdnHost, cancellationToken);
            return addresses.All(IsPublic) ? null : PrivateRefusal;
        }
        catch (SocketException)
        {
            return null; // not resolvable yet: every delivery checks the address it connects to
        }
    }

    private const string PrivateRefusal =
        "url points to a loopback, private or otherwise non-public address (Webhooks:AllowPrivateNetworks is off).";

    /// <summary>True when a delivery may connect to this address.</summary>
    public bool MayConnect(IPAddress address) => allowPrivateNetworks || IsPublic(address);

    /// <summary>Publicly routable unicast: not loopback, private (RFC 1918, ULA), link-local (cloud metadata), CGNAT,
    /// multicast, unspecified, reserved or documentation ranges; IPv4-mapped IPv6 is judged as the IPv4 address.</summary>
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
                     (b[0] == 198 && b[1] is 18 or 19) ||
                     (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
                     (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        var v6 = address.GetAddressBytes();
        return !(IPAddress.IsLoopback(address) || address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any) ||
                 address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal ||
                 (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8) || // 2001:db8::/32 documentation
                 (v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b) || // 64:ff9b::/96 NAT64 reaches IPv4 ranges
                 v6[0] == 0x00); // ::/8 reserved (IPv4-compatible and the like)
    }
}
