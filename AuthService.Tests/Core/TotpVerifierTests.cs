using System.Text;
using AuthService.Core.Totp;

namespace AuthService.Tests.Core;

public class TotpVerifierTests
{
    private static readonly byte[] Sha1Seed = Encoding.ASCII.GetBytes("12345678901234567890");
    private static readonly byte[] Sha256Seed = Encoding.ASCII.GetBytes("12345678901234567890123456789012");
    private static readonly byte[] Sha512Seed = Encoding.ASCII.GetBytes("1234567890123456789012345678901234567890123456789012345678901234");

    private static byte[] SeedFor(TotpAlgorithm algorithm) => algorithm switch
    {
        TotpAlgorithm.Sha1 => Sha1Seed,
        TotpAlgorithm.Sha256 => Sha256Seed,
        _ => Sha512Seed,
    };

    // RFC 6238 Appendix B: all 18 test vectors (8 digits, 30 s).
    [TestCase(59L, TotpAlgorithm.Sha1, "94287082")]
    [TestCase(59L, TotpAlgorithm.Sha256, "46119246")]
    [TestCase(59L, TotpAlgorithm.Sha512, "90693936")]
    [TestCase(1111111109L, TotpAlgorithm.Sha1, "07081804")]
    [TestCase(1111111109L, TotpAlgorithm.Sha256, "68084774")]
    [TestCase(1111111109L, TotpAlgorithm.Sha512, "25091201")]
    [TestCase(1111111111L, TotpAlgorithm.Sha1, "14050471")]
    [TestCase(1111111111L, TotpAlgorithm.Sha256, "67062674")]
    [TestCase(1111111111L, TotpAlgorithm.Sha512, "99943326")]
    [TestCase(1234567890L, TotpAlgorithm.Sha1, "89005924")]
    [TestCase(1234567890L, TotpAlgorithm.Sha256, "91819424")]
    [TestCase(1234567890L, TotpAlgorithm.Sha512, "93441116")]
    [TestCase(2000000000L, TotpAlgorithm.Sha1, "69279037")]
    [TestCase(2000000000L, TotpAlgorithm.Sha256, "90698825")]
    [TestCase(2000000000L, TotpAlgorithm.Sha512, "38618901")]
    [TestCase(20000000000L, TotpAlgorithm.Sha1, "65353130")]
    [TestCase(20000000000L, TotpAlgorithm.Sha256, "77737706")]
    [TestCase(20000000000L, TotpAlgorithm.Sha512, "47863826")]
    public void Rfc6238_appendix_b_vector_is_computed_and_accepted(long unixSeconds, TotpAlgorithm algorithm, string expected)
    {
        var profile = new TotpProfile(algorithm, 8, 30);
        var at = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);

        Assert.That(TotpVerifier.Compute(SeedFor(algorithm), profile, at), Is.EqualTo(expected));
        var check = TotpVerifier.Verify(SeedFor(algorithm), profile, expected, at, lastAcceptedStep: -1);
        Assert.Multiple(() =>
        {
            Assert.That(check.Accepted, Is.True);
            Assert.That(check.Step, Is.EqualTo(unixSeconds / 30));
            Assert.That(check.DriftSteps, Is.Zero);
        });
    }

    [TestCase(-1, true)]
    [TestCase(0, true)]
    [TestCase(1, true)]
    [TestCase(-2, false)]
    [TestCase(2, false)]
    public void Window_accepts_one_step_either_side_only(int offsetSteps, bool accepted)
    {
        var profile = TotpProfile.Default;
        var secret = TotpSecrets.Generate();
        var now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_010);
        var code = TotpVerifier.Compute(secret, profile, now.AddSeconds(30 * offsetSteps));

        var check = TotpVerifier.Verify(secret, profile, code, now, -1);

        Assert.That(check.Accepted, Is.EqualTo(accepted));
        if (accepted)
        {
            Assert.That(check.DriftSteps, Is.EqualTo(offsetSteps));
            Assert.That(check.Step, Is.EqualTo(profile.StepAt(now) + offsetSteps));
        }
    }

    [Test]
    public void Accepted_step_and_any_earlier_step_are_refused()
    {
        var profile = TotpProfile.Default;
        var secret = TotpSecrets.Generate();
        var now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_010);
        var current = profile.StepAt(now);
        var code = TotpVerifier.Compute(secret, profile, now);
        var previous = TotpVerifier.Compute(secret, profile, now.AddSeconds(-30));
        var next = TotpVerifier.Compute(secret, profile, now.AddSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(TotpVerifier.Verify(secret, profile, code, now, current).Accepted, Is.False, "same step");
            Assert.That(TotpVerifier.Verify(secret, profile, previous, now, current).Accepted, Is.False, "earlier step");
            Assert.That(TotpVerifier.Verify(secret, profile, next, now, current).Accepted, Is.True, "later step");
            Assert.That(TotpVerifier.Verify(secret, profile, code, now, current - 1).Accepted, Is.True, "step after the last accepted one");
        });
    }

    /// <summary>RFC 6238 §5.2: an accepted code is never accepted again. With the RFC's SHA-1 seed, steps 50424280 and
    /// 50424281 (2017-12-08 10:20:00 and 10:20:30 UTC) both show 070562 (two steps share a 6-digit code with
    /// probability 1e-6). Whichever of the two steps the code is typed in, the verifier must record the later one:
    /// recording the earlier one left the later step open, and the same code was accepted a second time inside its own
    /// window (the `make ha-test` failure of issue 21: one acknowledged TOTP code accepted again).</summary>
    [TestCase(1_512_728_410L, Description = "typed in the first of the two steps: its own step and the next match")]
    [TestCase(1_512_728_440L, Description = "typed in the second of the two steps: its own step and the previous match")]
    public void A_code_shared_by_two_steps_in_the_window_is_accepted_once(long unixSeconds)
    {
        var profile = new TotpProfile(TotpAlgorithm.Sha1, 6, 30);
        var now = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        const long first = 50_424_280, second = 50_424_281;
        Assert.That(TotpVerifier.Compute(Sha1Seed, profile, DateTimeOffset.FromUnixTimeSeconds(first * 30)), Is.EqualTo("070562"));
        Assert.That(TotpVerifier.Compute(Sha1Seed, profile, DateTimeOffset.FromUnixTimeSeconds(second * 30)), Is.EqualTo("070562"));

        var accepted = TotpVerifier.Verify(Sha1Seed, profile, "070562", now, lastAcceptedStep: first - 2);
        var replayed = TotpVerifier.Verify(Sha1Seed, profile, "070562", now, accepted.Step);
        var replayedInTheNextStep = TotpVerifier.Verify(Sha1Seed, profile, "070562", now.AddSeconds(30), accepted.Step);

        Assert.Multiple(() =>
        {
            Assert.That(accepted.Accepted, Is.True);
            Assert.That(accepted.Step, Is.EqualTo(second), "the latest matching step is recorded");
            Assert.That(replayed.Accepted, Is.False, "the same code again, same moment");
            Assert.That(replayed.Replayed, Is.True);
            Assert.That(replayedInTheNextStep.Accepted, Is.False, "the same code again, one step later");
        });
    }

    [TestCase("")]
    [TestCase("12345")]
    [TestCase("1234567")]
    [TestCase("12a456")]
    [TestCase("١٢٣٤٥٦")] // Arabic-Indic digits are not ASCII digits
    [TestCase(null)]
    public void Malformed_codes_are_rejected(string? code)
    {
        var check = TotpVerifier.Verify(TotpSecrets.Generate(), TotpProfile.Default, code, DateTimeOffset.UnixEpoch.AddDays(1), -1);
        Assert.That(check.Accepted, Is.False);
    }

    [Test]
    public void Spaces_inside_a_code_are_ignored()
    {
        var secret = TotpSecrets.Generate();
        var now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_010);
        var code = TotpVerifier.Compute(secret, TotpProfile.Default, now);
        Assert.That(TotpVerifier.Verify(secret, TotpProfile.Default, $"{code[..3]} {code[3..]}", now, -1).Accepted, Is.True);
    }

    [Test]
    public void Secrets_are_160_bits_and_distinct()
    {
        var secrets = Enumerable.Range(0, 100).Select(_ => Convert.ToHexString(TotpSecrets.Generate())).ToList();
        Assert.That(secrets.Distinct().Count(), Is.EqualTo(100));
        Assert.That(secrets.All(s => s.Length == 40), Is.True);
        Assert.That(TotpSecrets.ToBase32(TotpSecrets.Generate()), Does.Match("^[A-Z2-7]{32}$"));
    }

    [Test]
    public void Unusable_profiles_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new TotpProfile(TotpAlgorithm.Sha1, 5, 30).Validate());
        Assert.Throws<ArgumentException>(() => new TotpProfile(TotpAlgorithm.Sha1, 6, 0).Validate());
        Assert.Throws<ArgumentException>(() => new TotpProfile((TotpAlgorithm)7, 6, 30).Validate());
    }
}

public class TotpVerifierAgainstOtpNetTests
{
    /// <summary>The hand-written hot path (Verify and CodeAt) agrees with Otp.NET on random secrets, times and all three algorithms.</summary>
    [TestCase(TotpAlgorithm.Sha1, 6)]
    [TestCase(TotpAlgorithm.Sha256, 8)]
    [TestCase(TotpAlgorithm.Sha512, 7)]
    public void Agrees_with_otp_net_on_random_inputs(TotpAlgorithm algorithm, int digits)
    {
        var random = new Random(6238 + (int)algorithm);
        var profile = new TotpProfile(algorithm, digits, 30);
        for (var i = 0; i < 500; i++)
        {
            var secret = new byte[random.Next(16, 65)];
            random.NextBytes(secret);
            var now = DateTimeOffset.FromUnixTimeSeconds(random.NextInt64(0, 4_000_000_000));
            var drift = random.Next(-2, 3);
            var code = TotpVerifier.Compute(secret, profile, now.AddSeconds(30 * drift));
            Assert.That(TotpVerifier.CodeAt(secret, profile, profile.StepAt(now) + drift), Is.EqualTo(code), $"case {i}: CodeAt");

            var check = TotpVerifier.Verify(secret, profile, code, now, -1);

            Assert.That(check.Accepted, Is.EqualTo(Math.Abs(drift) <= 1), $"case {i}, drift {drift}");
            if (check.Accepted)
            {
                Assert.That(check.Step, Is.GreaterThanOrEqualTo(profile.StepAt(now) + drift), "latest matching step wins");
            }
        }
    }
}
