using System.Globalization;
using AuthService.Api.Profiles;

namespace AuthService.Api.NumberLookup;

/// <summary>What a profile does with a VoIP number (<c>Profiles:{name}:VoipPolicy</c>).</summary>
public enum VoipPolicy
{
    /// <summary>No code to a VoIP number, by SMS or call (NIST SP 800-63B 5.1.3.1 in full).</summary>
    Refuse,

    /// <summary>The default: no SMS to a VoIP number, a call is placed. SMS to virtual numbers is where codes are read by
    /// others (online receive-SMS services, forwarding apps) and where SMS pumping makes money; a call still reaches a user
    /// who enrolled a VoIP number, so nobody already enrolled is locked out of signing in.</summary>
    CallOnly,

    /// <summary>VoIP numbers are treated like any other.</summary>
    Allow,
}

/// <summary>One profile's number policy: its VoIP rule and the port window (days; 0 = ports never refuse).</summary>
public sealed record NumberRiskPolicy(VoipPolicy Voip, int RecentPortDays);

/// <summary>
/// The number check's settings (DESIGN §9.5, issue 25), read and validated once at start; every problem in one message.
/// <list type="bullet">
/// <item><c>NumberLookup:Enabled</c>: default true when Telnyx is the sender. With the <c>log</c> sender (development) there is
/// no Number Lookup to ask: the default is false, and true is refused at start.</item>
/// <item><c>NumberLookup:FailMode</c>: <c>open</c> (default: send without the check when the lookup fails, audited) or
/// <c>closed</c> (503 <c>number_lookup_unavailable</c>).</item>
/// <item><c>NumberLookup:RecentPortDays</c>: a number ported this many days ago or less is refused (default 7; 0 turns the
/// port rule off); a profile may set its own (<c>Profiles:{name}:RecentPortDays</c>).</item>
/// <item><c>Profiles:{name}:VoipPolicy</c>: <c>Refuse</c>, <c>CallOnly</c> (default) or <c>Allow</c>.</item>
/// </list>
/// </summary>
public sealed class NumberLookupSettings
{
    public const string SectionName = "NumberLookup";
    public const int DefaultRecentPortDays = 7;
    public const int MaxRecentPortDays = 365;

    /// <summary>An answer younger than this is used as is: at most one lookup per number a day.</summary>
    public static readonly TimeSpan CacheAge = TimeSpan.FromHours(24);

    /// <summary>The Retry-After of 503 <c>number_lookup_unavailable</c>.</summary>
    public const int RetryAfterSeconds = 30;

    private readonly Dictionary<string, NumberRiskPolicy> _byProfile;

    private NumberLookupSettings(bool enabled, bool failOpen, NumberRiskPolicy deployment, Dictionary<string, NumberRiskPolicy> byProfile)
    {
        Enabled = enabled;
        FailOpen = failOpen;
        Deployment = deployment;
        _byProfile = byProfile;
    }

    public bool Enabled { get; }

    public bool FailOpen { get; }

    public string FailMode => FailOpen ? "open" : "closed";

    /// <summary>The policy of a profile that sets nothing.</summary>
    public NumberRiskPolicy Deployment { get; }

    /// <summary>The policy of the profile of this name (lower case), else the deployment's.</summary>
    public NumberRiskPolicy For(string profile) => _byProfile.GetValueOrDefault(profile, Deployment);

    /// <summary>Reads and validates; <paramref name="telnyxSender"/>: whether Telnyx delivers codes (else the dev log sender).
    /// Throws <see cref="InvalidOperationException"/> listing every problem.</summary>
    public static NumberLookupSettings FromConfiguration(IConfiguration configuration, bool telnyxSender)
    {
        var problems = new List<string>();
        var section = configuration.GetSection(SectionName);

        var enabled = telnyxSender;
        if (section["Enabled"] is { } rawEnabled && !string.IsNullOrWhiteSpace(rawEnabled))
        {
            if (!bool.TryParse(rawEnabled.Trim(), out enabled))
                problems.Add($"NumberLookup:Enabled must be true or false, not '{rawEnabled}'");
            else if (enabled && !telnyxSender)
                problems.Add("NumberLookup:Enabled is true but Telephony:Provider is 'log', which has no Number Lookup; use 'telnyx' or set it false");
        }

        var failMode = section["FailMode"]?.Trim().ToLowerInvariant() ?? "open";
        if (failMode is not ("open" or "closed"))
            problems.Add($"NumberLookup:FailMode must be open or closed, not '{section["FailMode"]}'");

        var days = Days(section["RecentPortDays"], "NumberLookup:RecentPortDays", DefaultRecentPortDays, problems);
        var deployment = new NumberRiskPolicy(VoipPolicy.CallOnly, days);

        var byProfile = new Dictionary<string, NumberRiskPolicy>(StringComparer.Ordinal);
        foreach (var profile in configuration.GetSection("Profiles").GetChildren())
        {
            var path = $"Profiles:{profile.Key}";
            var rawVoip = profile["VoipPolicy"]?.Trim();
            var voip = VoipPolicy.CallOnly;
            if (!string.IsNullOrEmpty(rawVoip))
            {
                var named = Enum.GetValues<VoipPolicy>().Where(v => v.ToString().Equals(rawVoip, StringComparison.OrdinalIgnoreCase)).ToList();
                if (named.Count == 1)
                    voip = named[0];
                else
                    problems.Add($"{path}:VoipPolicy must be Refuse, CallOnly or Allow, not '{rawVoip}'");
            }

            byProfile[profile.Key.ToLowerInvariant()] =
                new NumberRiskPolicy(voip, Days(profile["RecentPortDays"], $"{path}:RecentPortDays", days, problems));
        }

        if (problems.Count > 0)
            throw new InvalidOperationException(string.Join("; ", problems) + ".");
        byProfile.TryAdd(VerifyProfile.DefaultName, deployment);
        return new NumberLookupSettings(enabled, failMode == "open", deployment, byProfile);
    }

    private static int Days(string? raw, string key, int fallback, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(raw))
            return fallback;
        if (int.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= MaxRecentPortDays)
            return value;
        problems.Add($"{key} must be a whole number of days from 0 to {MaxRecentPortDays}, not '{raw}'");
        return fallback;
    }
}
