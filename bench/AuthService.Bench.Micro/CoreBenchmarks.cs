using System.Buffers.Binary;
using System.Security.Cryptography;
using AuthService.Api.TwoFactor;
using AuthService.Core.BackupCodes;
using AuthService.Core.Totp;
using BenchmarkDotNet.Attributes;

namespace AuthService.Bench.Micro;

/// <summary>The CPU-only work of the hot paths, against what the hardware makes possible.</summary>
[MemoryDiagnoser]
public class CoreBenchmarks
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 10, TimeSpan.Zero);
    private readonly byte[] _secret = TotpSecrets.Generate();
    private readonly TotpProfile _profile = TotpProfile.Default;
    private string _nextStepCode = "";
    private string _wrongCode = "";
    private List<BackupCodeHash> _backupHashes = [];
    private string _lastBackupCode = "";

    [GlobalSetup]
    public void Setup()
    {
        // Otp.NET tries now, now−1, now+1 in that order: the +1 code and a wrong code both cost three HMACs,
        // the same work as the floor below.
        _nextStepCode = TotpVerifier.Compute(_secret, _profile, Now.AddSeconds(_profile.PeriodSeconds));
        var current = TotpVerifier.Compute(_secret, _profile, Now);
        _wrongCode = ((int.Parse(current) + 1) % 1_000_000).ToString("D6");
        var codes = BackupCodeSet.Generate();
        _backupHashes = codes.Select(BackupCodeSet.Hash).ToList();
        _lastBackupCode = codes[^1];
        if (!TotpVerifier.Verify(_secret, _profile, _nextStepCode, Now, -1).Accepted ||
            TotpVerifier.Verify(_secret, _profile, _wrongCode, Now, -1).Accepted ||
            BackupCodeSet.FindMatch(_lastBackupCode, _backupHashes) != codes.Count - 1)
        {
            throw new InvalidOperationException("Benchmark inputs do not behave as intended.");
        }
    }

    /// <summary>Success on the last candidate of the ±1 window: three HMACs.</summary>
    [Benchmark]
    public TotpCheck TotpVerifyWindowHit() => TotpVerifier.Verify(_secret, _profile, _nextStepCode, Now, -1);

    /// <summary>A wrong code: all three candidates computed and rejected.</summary>
    [Benchmark]
    public TotpCheck TotpVerifyWrongCode() => TotpVerifier.Verify(_secret, _profile, _wrongCode, Now, -1);

    /// <summary>The floor: three HMAC-SHA1 over stack buffers plus RFC 4226 dynamic truncation, nothing allocated.</summary>
    [Benchmark(Baseline = true)]
    public int RawHmacSha1Floor()
    {
        Span<byte> counter = stackalloc byte[8];
        Span<byte> mac = stackalloc byte[HMACSHA1.HashSizeInBytes];
        var step = Now.ToUnixTimeSeconds() / _profile.PeriodSeconds;
        var acc = 0;
        for (var i = -1; i <= 1; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(counter, step + i);
            HMACSHA1.HashData(_secret, counter, mac);
            var offset = mac[^1] & 0x0F;
            acc ^= (BinaryPrimitives.ReadInt32BigEndian(mac[offset..]) & 0x7FFF_FFFF) % 1_000_000;
        }

        return acc;
    }

    /// <summary>Against a full set of 10: every candidate is hashed (constant time by design).</summary>
    [Benchmark]
    public int BackupCodeFindMatch() => BackupCodeSet.FindMatch(_lastBackupCode, _backupHashes);

    /// <summary>What enrollment computes: the otpauth URI and its QR code as SVG and PNG data URI.</summary>
    [Benchmark]
    public int OtpAuthUriAndQr()
    {
        var uri = OtpAuthUri.Build("AuthService", "ann@example.com", _secret, _profile);
        var (svg, png) = QrCodes.Render(uri);
        return svg.Length + png.Length;
    }
}
