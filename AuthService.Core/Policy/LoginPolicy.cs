namespace AuthService.Core.Policy;

/// <summary>What the portal should do after the first factor.</summary>
public sealed record LoginDecision(string Action, string? Method, bool CanSkip, bool Locked)
{
    public const string Verify = "verify";
    public const string EnrollPrompt = "enroll_prompt";
    public const string None = "none";
}

/// <summary>The user's second-factor state as the policy needs it.</summary>
public readonly record struct UserFactorState(string? EnabledMethod, bool Locked, int PromptSkips);

/// <summary>The login policy of DESIGN §4: API-key requests are never blocked; SSO/SAML need no second
/// factor; password/OAuth logins verify when 2FA is on, and are prompted to enroll from the enforcement date.</summary>
public sealed record LoginPolicy(DateTimeOffset EnforcementStartsAt, int? MaxSkips)
{
    public LoginDecision Decide(string loginMethod, UserFactorState user, DateTimeOffset now)
    {
        switch (loginMethod)
        {
            case LoginMethods.ApiKey:
            case LoginMethods.Sso:
            case LoginMethods.Saml:
                return new LoginDecision(LoginDecision.None, user.EnabledMethod, false, false);
            case LoginMethods.Password:
            case LoginMethods.OAuth:
                if (user.EnabledMethod is not null)
                {
                    return new LoginDecision(LoginDecision.Verify, user.EnabledMethod, false, user.Locked);
                }

                if (!Prompts(now))
                {
                    return new LoginDecision(LoginDecision.None, null, false, false);
                }

                var canSkip = MaxSkips is null || user.PromptSkips < MaxSkips.Value;
                return new LoginDecision(LoginDecision.EnrollPrompt, null, canSkip, false);
            default:
                throw new ArgumentOutOfRangeException(nameof(loginMethod), loginMethod, "Unknown login method.");
        }
    }

    /// <summary>True from the enforcement date on: users without 2FA are prompted (and so may skip the prompt).</summary>
    public bool Prompts(DateTimeOffset now) => now >= EnforcementStartsAt;
}
