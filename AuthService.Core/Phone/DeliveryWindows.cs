namespace AuthService.Core.Phone;

/// <summary>The rolling windows of the send budgets and caps (DESIGN §4, §8.2): the daily budgets of a user and a number and
/// the deployment's daily cap count the last <see cref="Day"/>, the per-country cap the last <see cref="Hour"/>. The ledger's
/// SQL takes them as parameters from here.</summary>
public static class DeliveryWindows
{
    public static readonly TimeSpan Day = TimeSpan.FromHours(24);
    public static readonly TimeSpan Hour = TimeSpan.FromHours(1);
}
