using System.Text.Json;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>Examples of the WebAuthn JSON shapes in the OpenAPI document (real shapes, shortened values).</summary>
public sealed class PasskeyExamplesFilter : ISchemaFilter
{
    private static readonly DateTimeOffset At = new(2026, 3, 2, 9, 15, 0, TimeSpan.Zero);

    private static readonly CredentialDescriptorJson Descriptor = new("public-key", "f3Jq1dG6k0a8Qm9xYp2s4w", ["internal", "hybrid"]);

    private static readonly CreationOptionsJson Creation = new(
        new RelyingPartyJson("example.com", "Example Portal"),
        new UserEntityJson("q8L2x0m3Vt7bW1nZr5yK9c4dH6pJ2sA0fG8uE1iO3Xw", "ann@example.com", "Ann"),
        "Y2hhbGxlbmdlLWJ5dGVzLWZyb20tYS1jc3BybmctMzI",
        [new CredentialParameterJson("public-key", -7), new CredentialParameterJson("public-key", -257)],
        300000,
        [],
        new AuthenticatorSelectionJson("preferred", false, "preferred"),
        "none");

    private static readonly RequestOptionsJson Request = new("c2lnbi1tZS13aXRoLXlvdXItcGFzc2tleS0zMmJ5dGVz", 300000, "example.com",
        [Descriptor], "preferred");

    private static readonly Dictionary<Type, object> Examples = new()
    {
        [typeof(CreationOptionsJson)] = Creation,
        [typeof(RequestOptionsJson)] = Request,
        [typeof(PasskeyEnrollmentResponse)] = new PasskeyEnrollmentResponse("passkey", Creation, At.AddMinutes(5),
            Guid.Parse("0195a3c1-b4f0-7c2d-9e3f-4a5b6c7d8e9f")),
        [typeof(PasskeyChallengeResponse)] = new PasskeyChallengeResponse(Request, At.AddMinutes(5), "login"),
        [typeof(RegistrationResponseJson)] = new
        {
            id = "f3Jq1dG6k0a8Qm9xYp2s4w",
            rawId = "f3Jq1dG6k0a8Qm9xYp2s4w",
            type = "public-key",
            response = new
            {
                clientDataJSON = "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiWTJoaGJHeGxibWRsIiwib3JpZ2luIjoiaHR0cHM6Ly9leGFtcGxlLmNvbSJ9",
                attestationObject = "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjE…",
                transports = new[] { "internal", "hybrid" },
            },
            authenticatorAttachment = "platform",
            clientExtensionResults = new { },
        },
        [typeof(AuthenticationResponseJson)] = new
        {
            id = "f3Jq1dG6k0a8Qm9xYp2s4w",
            rawId = "f3Jq1dG6k0a8Qm9xYp2s4w",
            type = "public-key",
            response = new
            {
                clientDataJSON = "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiYzJsbmJpMXRaUSIsIm9yaWdpbiI6Imh0dHBzOi8vZXhhbXBsZS5jb20ifQ",
                authenticatorData = "o3mm9u6vuaVeN4wRgDTidR5oL6ufLTCrE9ISVYbOGUcFAAAAAQ",
                signature = "MEUCIQDx…",
                userHandle = "q8L2x0m3Vt7bW1nZr5yK9c4dH6pJ2sA0fG8uE1iO3Xw",
            },
            authenticatorAttachment = "platform",
            clientExtensionResults = new { },
        },
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema concrete)
        {
            return;
        }

        if (Examples.TryGetValue(context.Type, out var example))
        {
            concrete.Examples = [JsonSerializer.SerializeToNode(example, JsonSerializerOptions.Web)!];
        }
    }
}
