using AuthService.Core.BackupCodes;

namespace AuthService.Tests.Core;

public class BackupCodeSetTests
{
    [Test]
    public void Generates_ten_distinct_codes_in_the_display_format()
    {
        var codes = BackupCodeSet.Generate();
        Assert.That(codes, Has.Count.EqualTo(10));
        Assert.That(codes.Distinct().Count(), Is.EqualTo(10));
        Assert.That(codes, Has.All.Match("^[23456789abcdefghjkmnpqrstuvwxyz]{5}-[23456789abcdefghjkmnpqrstuvwxyz]{5}$"));
    }

    [Test]
    public void Alphabet_has_no_look_alikes()
    {
        Assert.That(BackupCodeSet.Alphabet.IndexOfAny("01ilo".ToCharArray()), Is.EqualTo(-1));
    }

    [TestCase("abcde-fghjk", "abcdefghjk")]
    [TestCase("ABCDE-FGHJK", "abcdefghjk")]
    [TestCase("abcdefghjk", "abcdefghjk")]
    [TestCase(" abcde fghjk ", "abcdefghjk")]
    [TestCase("AbCdE - fGhJk", "abcdefghjk")]
    public void Input_is_normalized(string input, string expected)
    {
        Assert.That(BackupCodeSet.TryNormalize(input, out var normalized), Is.True);
        Assert.That(normalized, Is.EqualTo(expected));
    }

    [TestCase("abcde-fghj")]
    [TestCase("abcde-fghjkm")]
    [TestCase("abcde-fghj0")]
    [TestCase("abcde_fghjk")]
    [TestCase("")]
    [TestCase(null)]
    public void Non_codes_are_refused(string? input)
    {
        Assert.That(BackupCodeSet.TryNormalize(input, out _), Is.False);
    }

    [Test]
    public void A_hash_matches_only_its_code_whatever_the_case_or_hyphen()
    {
        var codes = BackupCodeSet.Generate();
        var hashes = codes.Select(BackupCodeSet.Hash).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(BackupCodeSet.FindMatch(codes[3], hashes), Is.EqualTo(3));
            Assert.That(BackupCodeSet.FindMatch(codes[7].ToUpperInvariant().Replace("-", ""), hashes), Is.EqualTo(7));
            Assert.That(BackupCodeSet.FindMatch(BackupCodeSet.Generate()[0], hashes), Is.EqualTo(-1));
            Assert.That(BackupCodeSet.FindMatch("not a code", hashes), Is.EqualTo(-1));
        });
    }

    [Test]
    public void Hashes_are_salted()
    {
        var a = BackupCodeSet.Hash("abcde-fghjk");
        var b = BackupCodeSet.Hash("abcde-fghjk");
        Assert.That(a.Hash, Is.Not.EqualTo(b.Hash));
        Assert.That(a.Salt, Has.Length.EqualTo(16));
    }

    [Test]
    public void New_codes_use_the_current_cost_and_codes_hashed_at_an_older_cost_still_match()
    {
        var fresh = BackupCodeSet.Hash("abcde-fghjk");
        Assert.That(fresh.Iterations, Is.EqualTo(BackupCodeSet.Pbkdf2Iterations).And.AtLeast(10_000),
            "NIST SP 800-63B §5.1.1.2: typically at least 10,000 iterations");

        // A code issued before the cost was raised: PBKDF2-HMAC-SHA256 at 2,000 rounds, as rows of migration 0003 record.
        var salt = new byte[16];
        var old = new BackupCodeHash(salt, System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2("abcdefghjk"u8.ToArray(), salt, 2_000,
            System.Security.Cryptography.HashAlgorithmName.SHA256, 32), 2_000);
        Assert.Multiple(() =>
        {
            Assert.That(BackupCodeSet.FindMatch("ABCDE-FGHJK", [fresh with { Salt = [.. fresh.Salt] }, old]), Is.EqualTo(0));
            Assert.That(BackupCodeSet.FindMatch("abcde fghjk", [old]), Is.EqualTo(0));
            Assert.That(BackupCodeSet.FindMatch("abcde-fghjk", [old with { Iterations = BackupCodeSet.Pbkdf2Iterations }]), Is.EqualTo(-1),
                "the cost is part of the hash");
        });
    }
}
