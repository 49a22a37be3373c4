namespace AuthService.Core.Phone;

/// <summary>The two ways a phone code reaches a user.</summary>
public enum CodeChannel
{
    Sms,
    Call,
}
