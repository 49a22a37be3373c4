using System.Net;
using System.Net.Sockets;

namespace AuthService.Tests.Harness;

/// <summary>The ports the multi-process tests, the bench and the failover test give their servers
/// (<see cref="ServiceProcess.FreePort"/>): a port the kernel may hand to a client's connection between the probe and the
/// server's bind would make that server fail to start, one run in many.</summary>
public class FreePortTests
{
    [Test]
    public void Ports_for_servers_come_from_outside_the_kernels_ephemeral_range_and_never_twice_in_a_row()
    {
        var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var (low, high) = (int.Parse(range[0]), int.Parse(range[1]));
        Assume.That(65535 - high >= 1000 || low - 30000 >= 1000, Is.True, "this machine's ephemeral range leaves no room outside it");

        var ports = Enumerable.Range(0, 50).Select(_ => ServiceProcess.FreePort()).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(ports, Has.All.Matches<int>(p => p < low || p > high), $"ephemeral range {low}-{high}");
            Assert.That(ports, Is.Unique);
        });
    }

    [Test]
    public void A_port_that_is_bound_is_passed_over()
    {
        var first = ServiceProcess.FreePort();
        var taken = new List<TcpListener>();
        try
        {
            // Bind the next few ports the helper would hand out (it moves on by one): it must skip them all.
            for (var port = first + 1; port <= Math.Min(first + 5, 65535); port++)
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                try
                {
                    listener.Start();
                    taken.Add(listener);
                }
                catch (SocketException)
                {
                    listener.Dispose(); // already someone else's: passed over all the same
                }
            }

            var next = ServiceProcess.FreePort();

            Assert.That(taken.Select(l => ((IPEndPoint)l.LocalEndpoint).Port), Has.No.Member(next));
            using var server = new TcpListener(IPAddress.Loopback, next);
            Assert.DoesNotThrow(() => server.Start());
        }
        finally
        {
            taken.ForEach(l => l.Stop());
        }
    }
}
