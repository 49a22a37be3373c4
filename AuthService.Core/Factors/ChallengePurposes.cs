namespace AuthService.Core.Factors;

/// <summary>What a challenge (a phone code or a passkey request sent by <c>/challenge</c>) is for (DESIGN §9.1): a <c>login</c>
/// is accepted only at <c>/verify</c>, a <c>proof</c> only as the proof of a change (switch, new backup codes, adding or removing a factor).</summary>
public static class ChallengePurposes
{
    public const string Login = "login";
    public const string Proof = "proof";

    public static bool IsKnown(string? purpose) => purpose is Login or Proof;
}
