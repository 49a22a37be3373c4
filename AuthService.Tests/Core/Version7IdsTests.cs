using AuthService.Core.Security;

namespace AuthService.Tests.Core;

public class Version7IdsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 4, 30, 15, 123, TimeSpan.Zero);

    [Test]
    public void Has_the_runtimes_version_7_layout_and_timestamp()
    {
        var id = Version7Ids.New(Now);
        var runtimes = Guid.CreateVersion7(Now);

        Assert.Multiple(() =>
        {
            Assert.That(id.Version, Is.EqualTo(7));
            Assert.That(id.Variant, Is.InRange(8, 0xB), "RFC 9562 variant: 10xx");
            // The first 48 bits are the Unix milliseconds, as in the runtime's own version 7 ids.
            Assert.That(id.ToString()[..13], Is.EqualTo(runtimes.ToString()[..13]));
            Assert.That(id.ToString()[..8], Is.EqualTo(Now.ToUnixTimeMilliseconds().ToString("x12")[..8]));
        });
    }

    [Test]
    public void Ids_sort_by_time_and_never_repeat()
    {
        var later = Version7Ids.New(Now.AddMilliseconds(1));
        var ids = Enumerable.Range(0, 10_000).Select(_ => Version7Ids.New(Now)).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(ids.Distinct().Count(), Is.EqualTo(ids.Count));
            Assert.That(ids.All(id => string.CompareOrdinal(id.ToString(), later.ToString()) < 0), Is.True);
            // 74 random bits: across 10,000 ids every random nibble position takes many values.
            Assert.That(new[] { 15, 16, 17, 20, 21, 22, 35 }.All(i => ids.Select(id => id.ToString()[i]).Distinct().Count() == 16), Is.True);
        });
    }

    [Test]
    public void Refuses_a_time_before_1970() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Version7Ids.New(DateTimeOffset.UnixEpoch.AddMilliseconds(-1)));
}
