using AuthService.Core.Phone;

namespace AuthService.Core.Factors;

/// <summary>How a <see cref="CodeChannel"/> is spelled outside the code — in requests and answers, the database, audit details,
/// logs and metric labels — and the only conversions between the two: parse where a request comes in, <see cref="ToWire"/>
/// where a value goes out.</summary>
public static class Channels
{
    public const string Sms = "sms";
    public const string Call = "call";

    public static bool IsPhone(string? channel) => TryParse(channel, out _);

    public static bool TryParse(string? wire, out CodeChannel channel)
    {
        switch (wire)
        {
            case Sms:
                channel = CodeChannel.Sms;
                return true;
            case Call:
                channel = CodeChannel.Call;
                return true;
            default:
                channel = default;
                return false;
        }
    }

    /// <summary>The channel of a value already checked with <see cref="IsPhone"/>.</summary>
    public static CodeChannel Parse(string? wire) =>
        TryParse(wire, out var channel) ? channel : throw new ArgumentException($"'{wire}' is not a channel.", nameof(wire));

    public static string ToWire(this CodeChannel channel) => channel switch
    {
        CodeChannel.Sms => Sms,
        CodeChannel.Call => Call,
        _ => throw new ArgumentOutOfRangeException(nameof(channel), channel, null),
    };
}
