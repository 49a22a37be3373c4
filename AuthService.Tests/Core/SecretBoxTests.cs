using System.Security.Cryptography;
using AuthService.Core.Security;

namespace AuthService.Tests.Core;

public class SecretBoxTests
{
    private static readonly byte[] KeyA = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] KeyB = RandomNumberGenerator.GetBytes(32);

    [Test]
    public void Round_trips_and_never_reuses_a_nonce()
    {
        var box = new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA }, "a");
        var one = box.Seal("secret"u8, "totp:ann");
        var two = box.Seal("secret"u8, "totp:ann");
        Assert.That(box.Open(one, "totp:ann"), Is.EqualTo("secret"u8.ToArray()));
        Assert.That(one, Is.Not.EqualTo(two));
        Assert.That(SecretBox.KeyIdOf(one), Is.EqualTo("a"));
    }

    [Test]
    public void Tampered_value_or_other_owner_does_not_open()
    {
        var box = new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA }, "a");
        var sealedValue = box.Seal("secret"u8, "totp:ann");
        var tampered = (byte[])sealedValue.Clone();
        tampered[^1] ^= 1;
        Assert.Throws<AuthenticationTagMismatchException>(() => box.Open(tampered, "totp:ann"));
        Assert.Throws<AuthenticationTagMismatchException>(() => box.Open(sealedValue, "totp:bob"));
    }

    [Test]
    public void After_rotation_old_values_open_and_new_ones_use_the_new_key()
    {
        var before = new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA }, "a");
        var old = before.Seal("secret"u8, "x");
        var after = new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA, ["b"] = KeyB }, "b");

        Assert.That(after.Open(old, "x"), Is.EqualTo("secret"u8.ToArray()));
        Assert.That(SecretBox.KeyIdOf(old), Is.EqualTo("a"));
        Assert.That(SecretBox.KeyIdOf(after.Seal("secret"u8, "x")), Is.EqualTo("b"));
    }

    [Test]
    public void A_value_whose_key_left_the_ring_fails_clearly()
    {
        var old = new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA }, "a").Seal("secret"u8, "x");
        var other = new SecretBox(new Dictionary<string, byte[]> { ["b"] = KeyB }, "b");
        var error = Assert.Throws<CryptographicException>(() => other.Open(old, "x"));
        Assert.That(error!.Message, Does.Contain("'a'"));
    }

    [Test]
    public void Bad_key_rings_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new SecretBox(new Dictionary<string, byte[]> { ["a"] = new byte[16] }, "a"));
        Assert.Throws<ArgumentException>(() => new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA }, "b"));
        Assert.Throws<ArgumentException>(() => new SecretBox(new Dictionary<string, byte[]>(), "a"));
    }

    /// <summary>Each thread keeps an <see cref="AesGcm"/> per key of a ring (issue 27). These attack that cache: a refused value
    /// must not leave the cipher unusable, two rings with the same key id and other keys must not share one, a caller's key
    /// array written after the ring was built must not reach it, and rings past the per-thread bound must still open their own.</summary>
    [Test]
    public void A_refused_value_leaves_the_cipher_usable()
    {
        var box = new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA }, "a");
        var sealedValue = box.Seal("secret"u8, "totp:ann");
        var tampered = (byte[])sealedValue.Clone();
        tampered[^1] ^= 1;

        Assert.Throws<AuthenticationTagMismatchException>(() => box.Open(tampered, "totp:ann"));
        Assert.That(box.Open(sealedValue, "totp:ann"), Is.EqualTo("secret"u8.ToArray()));
        Assert.Throws<AuthenticationTagMismatchException>(() => box.Open(sealedValue, "totp:bob"));
        Assert.That(box.Open(box.Seal("other"u8, "totp:ann"), "totp:ann"), Is.EqualTo("other"u8.ToArray()));
    }

    [Test]
    public void Rings_with_the_same_key_id_and_other_keys_do_not_share_a_cipher()
    {
        var one = new SecretBox(new Dictionary<string, byte[]> { ["k"] = KeyA }, "k");
        var two = new SecretBox(new Dictionary<string, byte[]> { ["k"] = KeyB }, "k");
        var fromOne = one.Seal("secret"u8, "x");
        var fromTwo = two.Seal("secret"u8, "x");

        Assert.Throws<AuthenticationTagMismatchException>(() => two.Open(fromOne, "x"));
        Assert.Throws<AuthenticationTagMismatchException>(() => one.Open(fromTwo, "x"));
        Assert.That(one.Open(fromOne, "x"), Is.EqualTo("secret"u8.ToArray()));
        Assert.That(two.Open(fromTwo, "x"), Is.EqualTo("secret"u8.ToArray()));
    }

    [Test]
    public void A_key_array_written_after_the_ring_was_built_does_not_reach_it()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var box = new SecretBox(new Dictionary<string, byte[]> { ["a"] = key }, "a");
        var copy = new SecretBox(new Dictionary<string, byte[]> { ["a"] = (byte[])key.Clone() }, "a");

        Array.Clear(key); // before the ring's first use, so no cipher was built from the array yet

        Assert.That(copy.Open(box.Seal("secret"u8, "x"), "x"), Is.EqualTo("secret"u8.ToArray()));
        Assert.That(box.Open(copy.Seal("other"u8, "x"), "x"), Is.EqualTo("other"u8.ToArray()));
    }

    [Test]
    public void Rings_past_the_per_thread_bound_still_open_their_own_values()
    {
        var rings = Enumerable.Range(0, 40)
            .Select(i => new SecretBox(new Dictionary<string, byte[]> { ["a"] = RandomNumberGenerator.GetBytes(32) }, "a")).ToArray();
        var sealedValues = rings.Select((ring, i) => ring.Seal(new[] { (byte)i }, "x")).ToArray();

        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < rings.Length; i++)
            {
                Assert.That(rings[i].Open(sealedValues[i], "x"), Is.EqualTo(new[] { (byte)i }));
                Assert.Throws<AuthenticationTagMismatchException>(() => rings[(i + 1) % rings.Length].Open(sealedValues[i], "x"));
            }
        }
    }

    [Test]
    public void Long_associated_data_is_bound_as_well()
    {
        var box = new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA }, "a");
        var owner = new string('é', 300);
        var sealedValue = box.Seal("secret"u8, owner);

        Assert.That(box.Open(sealedValue, owner), Is.EqualTo("secret"u8.ToArray()));
        Assert.Throws<AuthenticationTagMismatchException>(() => box.Open(sealedValue, owner[..^1] + "e"));
    }

    [Test]
    public void Threads_sealing_and_opening_at_once_each_get_their_own_values()
    {
        var box = new SecretBox(new Dictionary<string, byte[]> { ["a"] = KeyA }, "a");
        var failures = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                var plaintext = BitConverter.GetBytes(worker * 1_000_000 + i);
                var owner = $"totp:{worker}:{i}";
                if (!box.Open(box.Seal(plaintext, owner), owner).AsSpan().SequenceEqual(plaintext))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        Assert.That(failures, Is.Zero);
    }
}
