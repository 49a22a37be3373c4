using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Security;
using AuthService.Core.Phone;

namespace AuthService.Api.Profiles;

/// <summary>A request body that may name the locale its code is sent in (<c>locale</c> on enroll and challenge).</summary>
public interface ILocaleRequest
{
    string? Locale { get; }
}

/// <summary>
/// The verify profile of the request's API key and the locale the request asked for, for the send path deep below the
/// route (<c>TwoFactor/PhoneCodeDelivery</c>, the TOTP enrollment) without threading them through every use case the lead
/// is reshaping (issue 22). Set once per request by <see cref="UseVerifyProfiles"/> (after authentication) and
/// <see cref="LocaleFilter"/>; outside a request (a use case called directly) nothing is set and
/// <see cref="VerifyProfiles.Current"/> is the default profile.
/// </summary>
public static class ProfileContext
{
    private static readonly AsyncLocal<Holder?> Value = new();

    public static VerifyProfile? Profile => Value.Value?.Profile;

    public static CodeLocale? AskedLocale => Value.Value?.Locale;

    /// <summary>Runs the rest of the request under the caller key's profile (unknown or absent name: the default).</summary>
    public static IApplicationBuilder UseVerifyProfiles(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var profiles = context.RequestServices.GetRequiredService<VerifyProfiles>();
        var named = context.User.FindFirst(ApiKeyAuthentication.ProfileClaim)?.Value;
        Value.Value = new Holder(profiles.Find(named) ?? profiles.Default);
        EventProfile.Current = Value.Value.Profile.Name;
        await next(context);
    });

    /// <summary>The route takes <c>locale</c> (<see cref="LocaleFilter"/>) and may answer 400 <c>unknown_locale</c>.</summary>
    public static RouteHandlerBuilder AcceptsLocale(this RouteHandlerBuilder route) =>
        route.AddEndpointFilter(LocaleFilter.Instance).ProducesProblemCodes(400, ProblemCodes.UnknownLocale);

    /// <summary>For tests and tools that call a use case directly: runs under <paramref name="profile"/>.</summary>
    public static void Enter(VerifyProfile profile, CodeLocale? locale = null)
    {
        Value.Value = new Holder(profile) { Locale = locale };
        EventProfile.Current = profile.Name;
    }

    private sealed class Holder(VerifyProfile profile)
    {
        public VerifyProfile Profile { get; } = profile;

        public CodeLocale? Locale { get; set; }
    }

    /// <summary>Reads <c>locale</c> from the body (<see cref="ILocaleRequest"/>): a tag that finds none of
    /// <see cref="CodeLocales"/> answers 400 <c>unknown_locale</c> before anything runs.</summary>
    public sealed class LocaleFilter : IEndpointFilter
    {
        /// <summary>The one instance every route uses: stateless, and <c>AddEndpointFilter&lt;T&gt;</c> would build one per request.</summary>
        public static readonly LocaleFilter Instance = new();

        private LocaleFilter()
        {
        }

        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var tag = context.Arguments.OfType<ILocaleRequest>().FirstOrDefault()?.Locale;
            if (tag is not null)
            {
                if (CodeLocales.Find(tag) is not { } locale)
                {
                    return Problems.Result(400, ProblemCodes.UnknownLocale, "Unknown locale.",
                        $"locale must be a BCP 47 tag of one of: {string.Join(", ", CodeLocales.Tags)}.");
                }

                if (Value.Value is { } holder)
                {
                    holder.Locale = locale;
                }
            }

            return await next(context);
        }
    }
}
