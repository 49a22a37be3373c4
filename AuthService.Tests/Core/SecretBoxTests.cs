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
}
