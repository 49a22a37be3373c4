using AuthService.Core.Phone;

namespace AuthService.Tests.Core;

public class PhoneNumbersTests
{
    [TestCase("+13035550123", "+13035550123")]
    [TestCase("+1 303-555-0123", "+13035550123")]
    [TestCase("+1 (303) 555.0123", "+13035550123")]
    [TestCase("  +447911123456 ", "+447911123456")]
    [TestCase("+4915123456789", "+4915123456789")]
    [TestCase("+33612345678", "+33612345678")]
    public void Valid_numbers_are_normalized_to_E164(string input, string expected)
    {
        var result = PhoneNumbers.Parse(input);

        Assert.That(result.IsValid, Is.True);
        Assert.That(result.E164, Is.EqualTo(expected));
        Assert.That(result.Error, Is.EqualTo(PhoneNumberError.None));
    }

    [TestCase(null, PhoneNumberError.Empty)]
    [TestCase("", PhoneNumberError.Empty)]
    [TestCase("   ", PhoneNumberError.Empty)]
    [TestCase("13035550123", PhoneNumberError.MissingPlus)]
    [TestCase("(303) 555-0123", PhoneNumberError.MissingPlus)]
    [TestCase("00447700900123", PhoneNumberError.MissingPlus)]
    [TestCase("+1800FLOWERS", PhoneNumberError.InvalidCharacters)]
    [TestCase("+1303555012a", PhoneNumberError.InvalidCharacters)]
    [TestCase("+1/303/555/0123", PhoneNumberError.InvalidCharacters)]
    [TestCase("++13035550123", PhoneNumberError.InvalidCharacters)]
    [TestCase("+1303", PhoneNumberError.TooShort)]
    [TestCase("+", PhoneNumberError.TooShort)]
    [TestCase("+1303555012345678", PhoneNumberError.TooLong)]
    [TestCase("+130355501234", PhoneNumberError.InvalidNumber)]
    [TestCase("+10035550123", PhoneNumberError.InvalidNumber)]
    [TestCase("+9995550123", PhoneNumberError.InvalidNumber)]
    [TestCase("+4407911123456", PhoneNumberError.InvalidNumber)]
    public void Invalid_numbers_are_refused_with_a_reason(string? input, PhoneNumberError expected)
    {
        var result = PhoneNumbers.Parse(input);

        Assert.That(result.IsValid, Is.False);
        Assert.That(result.E164, Is.Null);
        Assert.That(result.Error, Is.EqualTo(expected));
    }

    [Test]
    public void TryParse_returns_the_normalized_number()
    {
        Assert.That(PhoneNumbers.TryParse("+1 303 555 0123", out var e164), Is.True);
        Assert.That(e164, Is.EqualTo("+13035550123"));
        Assert.That(PhoneNumbers.TryParse("3035550123", out var none), Is.False);
        Assert.That(none, Is.Null);
    }

    [TestCase("+13035550123", "+1******0123")]
    [TestCase("+447911123456", "+44******3456")]
    [TestCase("+4915123456789", "+49*******6789")]
    [TestCase("+35312345678", "+353****5678")]
    public void Mask_keeps_country_code_and_last_four_digits(string e164, string expected)
    {
        Assert.That(PhoneNumbers.Mask(e164), Is.EqualTo(expected));
    }

    [TestCase("3035550123", "********23")]
    [TestCase("+12", "***")]
    [TestCase("", "")]
    [TestCase(null, "")]
    public void Mask_never_reveals_more_than_two_characters_of_non_E164_input(string? input, string expected)
    {
        Assert.That(PhoneNumbers.Mask(input), Is.EqualTo(expected));
    }
}
