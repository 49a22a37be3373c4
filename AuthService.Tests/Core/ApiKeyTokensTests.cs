using AuthService.Core.Security;

namespace AuthService.Tests.Core;

public class ApiKeyTokensTests
{
    [TestCase("ask_3q2-7Rk_abcdefghijklmnopqrstuvwxyz0123456789")]
    [TestCase("ünïcödé and a lone surrogate \ud800 too")]
    [TestCase("")]
    public void The_stack_hash_is_the_stored_hash(string key)
    {
        Span<byte> hash = stackalloc byte[32];
        ApiKeyTokens.Hash(key, hash);
        Assert.That(hash.ToArray(), Is.EqualTo(ApiKeyTokens.Hash(key)));
    }

    [Test]
    public void The_stack_hash_refuses_a_key_longer_than_a_bearer_header_allows()
    {
        var key = new string('a', ApiKeyTokens.MaxHashedLength + 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ApiKeyTokens.Hash(key, new byte[32]));
        Assert.DoesNotThrow(() => ApiKeyTokens.Hash(key.AsSpan(1), new byte[32]));
    }
}
