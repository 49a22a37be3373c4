using AuthService.Api.Storage;

namespace AuthService.Tests.Storage;

public class PositionalSqlTests
{
    [Test]
    public void Names_become_positions_in_the_order_the_parameters_are_added()
    {
        var sql = PositionalSql.Of("select @b::int + @a::int, @ab, @b", "a", "ab", "b");

        Assert.That(sql, Is.EqualTo("select $3::int + $1::int, $2, $3"));
    }

    [Test]
    public void A_name_the_parameters_do_not_have_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => PositionalSql.Of("select @a, @c", "a"));

        Assert.That(e!.Message, Does.Contain("@c"));
    }

    [Test]
    public void A_parameter_the_statement_never_uses_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => PositionalSql.Of("select @a", "a", "b"));

        Assert.That(e!.Message, Does.Contain("@b"));
    }
}
