using System.Buffers.Binary;
using System.Security.Cryptography;

namespace AuthService.Bench.Load;

/// <summary>The client side: the code an authenticator app would show (RFC 6238, SHA-1, 6 digits, 30 s), cheap enough
/// to compute per request without competing with the service for the two cores.</summary>
public static class Totp
{
    public const int PeriodSeconds = 30;

    public static long CurrentStep() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() / PeriodSeconds;

    public static string Code(byte[] secret, long step)
    {
        Span<byte> counter = stackalloc byte[8];
        Span<byte> mac = stackalloc byte[HMACSHA1.HashSizeInBytes];
        BinaryPrimitives.WriteInt64BigEndian(counter, step);
        HMACSHA1.HashData(secret, counter, mac);
        var offset = mac[^1] & 0x0F;
        return ((BinaryPrimitives.ReadInt32BigEndian(mac[offset..]) & 0x7FFF_FFFF) % 1_000_000).ToString("D6");
    }
}

/// <summary>Hands out users round-robin so that no user is used twice within one 30-s step (a second code of the
/// same step would be a replay and rightly rejected). Fails when every user has been used in the current step.</summary>
public sealed class UserPool(int count)
{
    private readonly long[] _lastStep = Enumerable.Repeat(-1L, count).ToArray();
    private long _cursor = -1;

    public int Count => count;

    public bool TryTake(long step, out int user)
    {
        for (var tries = 0; tries < count; tries++)
        {
            user = (int)((ulong)Interlocked.Increment(ref _cursor) % (ulong)count);
            var last = Volatile.Read(ref _lastStep[user]);
            if (last < step && Interlocked.CompareExchange(ref _lastStep[user], step, last) == last)
            {
                return true;
            }
        }

        user = -1;
        return false;
    }

    /// <summary>Plain round-robin for paths that consume nothing (ceiling, login decisions).</summary>
    public int Next() => (int)((ulong)Interlocked.Increment(ref _cursor) % (ulong)count);
}
