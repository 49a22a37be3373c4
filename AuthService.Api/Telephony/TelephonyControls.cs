using System.Globalization;
using AuthService.Core.Phone;

namespace AuthService.Api.Telephony;

/// <summary>
/// The fraud and cost controls of DESIGN §8.2, read and validated once at start (an unknown number type, country code
/// or mode refuses to start with one line naming it):
/// <c>Telephony:AllowedNumberTypes</c>, <c>Telephony:AllowedCountries:Sms</c>, <c>Telephony:AllowedCountries:Call</c>,
/// <c>Limits:UnconfirmedNumberDaily</c>, <c>Telephony:Caps:Daily</c>, <c>Telephony:Caps:PerCountryHourly</c>,
/// <c>Telephony:Caps:Mode</c>. Lists are JSON arrays, indexed keys (<c>Telephony__AllowedCountries__Sms__0=US</c>) or
/// one comma-separated value (<c>Telephony__AllowedCountries__Sms=US,CA</c>).
/// </summary>
public sealed record TelephonyControls(
    DestinationPolicy Destinations,
    int UnconfirmedNumberDaily,
    int DailyCap,
    int CountryHourlyCap,
    bool EnforceCaps)
{
    public const int DefaultUnconfirmedNumberDaily = 3;
    public const int DefaultDailyCap = 10_000;
    public const int DefaultCountryHourlyCap = 500;
    public const string Enforce = "enforce";
    public const string Monitor = "monitor";

    public string Mode => EnforceCaps ? Enforce : Monitor;

    /// <summary>Throws <see cref="InvalidOperationException"/> with a one-line message for any bad value.</summary>
    public static TelephonyControls FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        DestinationPolicy? destinations = null;
        try
        {
            destinations = DestinationPolicy.Create(
                ConfigList(configuration.GetSection("Telephony:AllowedNumberTypes")),
                ConfigList(configuration.GetSection("Telephony:AllowedCountries:Sms")),
                ConfigList(configuration.GetSection("Telephony:AllowedCountries:Call")));
        }
        catch (ArgumentException e)
        {
            problems.Add(e.Message.TrimEnd('.'));
        }

        var unconfirmed = Positive(configuration, "Limits:UnconfirmedNumberDaily", DefaultUnconfirmedNumberDaily, problems);
        var daily = Positive(configuration, "Telephony:Caps:Daily", DefaultDailyCap, problems);
        var hourly = Positive(configuration, "Telephony:Caps:PerCountryHourly", DefaultCountryHourlyCap, problems);
        var mode = configuration["Telephony:Caps:Mode"]?.Trim().ToLowerInvariant() switch
        {
            null or "" or Enforce => Enforce,
            Monitor => Monitor,
            var other => Bad($"Telephony:Caps:Mode must be '{Enforce}' or '{Monitor}', not '{other}'"),
        };
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", problems) + ".");
        }

        return new TelephonyControls(destinations!, unconfirmed, daily, hourly, mode == Enforce);

        string Bad(string problem)
        {
            problems.Add(problem);
            return "";
        }
    }

    private static int Positive(IConfiguration configuration, string key, int fallback, List<string> problems)
    {
        var raw = configuration[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }

        if (int.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1)
        {
            return value;
        }

        problems.Add($"{key} must be a whole number of at least 1, not '{raw}'");
        return fallback;
    }

    /// <summary>A configured list: a JSON array, indexed keys or one comma-separated value.</summary>
    public static List<string> ConfigList(IConfigurationSection section) =>
        section.Value is { } single
            ? single.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : section.GetChildren().Select(c => c.Value ?? "").ToList();
}
