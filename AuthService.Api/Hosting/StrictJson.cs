using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AuthService.Api.TwoFactor.Passkeys;

namespace AuthService.Api.Hosting;

/// <summary>Request bodies are read as strictly as the contract says (DESIGN §9.6): a member no request type declares is
/// refused with 400 <c>unknown_field</c>, as every request schema's <c>additionalProperties: false</c> promises, instead of
/// being silently dropped (a client that misspells <c>backupCode</c> or sends a field this version does not know learns
/// of it at once). One switch for every route: a field added to a request record is accepted by adding it, nothing else.
/// <para>The WebAuthn credential objects a browser produces (<c>credential.toJSON()</c>) are the exception: the browser,
/// not the integrator, writes them, and WebAuthn adds members over time (Level 3 added <c>authenticatorAttachment</c>
/// and the assertion's <c>attestationObject</c>; extensions add their own), so their unknown members are ignored and
/// their schemas say <c>additionalProperties: true</c>. Everything around them (<c>credential</c>'s siblings) is strict.</para>
/// <para>A member given twice is refused too, wherever it is.</para>
/// <para>The refusal itself is mapped in <see cref="Http.ErrorHandling"/>.</para></summary>
public static class StrictJson
{
    /// <summary>The browser-written WebAuthn JSON forms, read leniently.</summary>
    public static readonly IReadOnlySet<Type> BrowserWritten = new HashSet<Type>
    {
        typeof(RegistrationResponseJson), typeof(AttestationResponseJson),
        typeof(AuthenticationResponseJson), typeof(AssertionResponseJson),
    };

    public static IServiceCollection AddStrictJson(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            // A member given twice ({"code":"1","code":"2"}) is refused (400 invalid_json), not read as its last value, which a
            // proxy or a log reading the first would not see.
            o.SerializerOptions.AllowDuplicateProperties = false;
            o.SerializerOptions.TypeInfoResolver = (o.SerializerOptions.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver())
                .WithAddedModifier(info =>
                {
                    if (BrowserWritten.Contains(info.Type))
                    {
                        info.UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip;
                    }
                });
        });
}
