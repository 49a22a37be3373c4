using System.Security.Claims;
using AuthService.Api.Http;
using AuthService.Api.Profiles;
using AuthService.Api.Security;
using AuthService.Api.Storage;
using AuthService.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using AuthService.Core.Text;

namespace AuthService.Api.ApiKeys;

/// <summary><c>profile</c>: the verify profile the key sends under (<c>Profiles:{name}</c>; <c>default</c> when absent).</summary>
public sealed record CreateApiKeyRequest(string? Name, string[]? Scopes, string? Profile = null);

public sealed record ApiKeyResponse(Guid Id, string Name, string Prefix, string[] Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt,
    string Profile)
{
    public static ApiKeyResponse From(ApiKeyRow row) => new(row.Id, row.Name, row.Prefix, row.Scopes,
        Timestamps.Utc(row.CreatedAt),
        row.RevokedAt is { } r ? Timestamps.Utc(r) : null, row.Profile);
}

/// <summary>The key itself, returned once at creation and never again.</summary>
public sealed record CreatedApiKeyResponse(Guid Id, string Name, string Prefix, string[] Scopes, DateTimeOffset CreatedAt, string Key, string Profile);

public sealed record ApiKeyListResponse(IReadOnlyList<ApiKeyResponse> Items);

/// <summary><c>/v1/api-keys</c>: caller keys, admin only.</summary>
public static class ApiKeysApi
{
    public static RouteGroupBuilder MapApiKeys(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/api-keys")
            .WithTags("API keys")
            .RequireAuthorization(Scopes.Admin)
            .ProducesProblem(401).ProducesProblem(403);

        group.MapPost("", Create).WithSummary("Create an API key")
            .WithDescription("Scopes: `verify`, `manage`, `admin`. The key is in the answer once and is stored only as a hash. " +
                             "`profile` names the verify profile its codes and enrollments use (`Profiles:{name}`; `default` when absent).")
            .ProducesProblemCodes(400, ProblemCodes.ValidationFailed, ProblemCodes.InvalidJson, ProblemCodes.UnknownProfile);
        group.MapGet("", List).WithSummary("List API keys").WithDescription("Never includes the keys, only their prefixes.");
        group.MapGet("/{id:guid}", Get).WithSummary("One API key")
            .WithDescription("The key a creation's `Location` names, revoked or not (`revokedAt`). Never the key, only its prefix. " +
                             "404 `api_key_not_found`.")
            .ProducesProblemCodes(404, ProblemCodes.ApiKeyNotFound);
        group.MapDelete("/{id:guid}", Revoke).WithSummary("Revoke an API key")
            .WithDescription("Takes effect at once on the instance that revoked it, and within `Auth:ApiKeyCacheSeconds` (default 5 s) on the others.")
            .ProducesProblemCodes(404, ProblemCodes.ApiKeyNotFound);
        return group;
    }

    public static async Task<Results<Created<CreatedApiKeyResponse>, ProblemHttpResult>> Create(
        CreateApiKeyRequest request, ApiKeyService keys, VerifyProfiles profiles, TimeProvider time, ClaimsPrincipal caller, CancellationToken ct)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || !PrintableText.IsValid(name, 100))
        {
            return Problems.Validation("name is required: 1–100 printable characters.").ToResult();
        }

        var scopes = request.Scopes?.Distinct().ToArray() ?? [];
        if (scopes.Length == 0 || !scopes.All(s => s is not null && Scopes.IsKnown(s)))
        {
            return Problems.Validation("scopes must be a non-empty list of 'verify', 'manage', 'admin'.").ToResult();
        }

        if (profiles.Find(request.Profile ?? VerifyProfile.DefaultName) is not { } profile)
        {
            return Problems.Result(400, ProblemCodes.UnknownProfile, "Unknown profile.",
                $"profile must name a configured verify profile: {string.Join(", ", profiles.Names)}.");
        }

        var key = ApiKeyTokens.Generate();
        var row = await keys.CreateAsync(key, name, scopes, time.GetUtcNow(), caller.ApiKeyId(), ct, profile.Name);
        var created = ApiKeyResponse.From(row);
        return TypedResults.Created($"/v1/api-keys/{row.Id}",
            new CreatedApiKeyResponse(created.Id, created.Name, created.Prefix, created.Scopes, created.CreatedAt, key, created.Profile));
    }

    public static async Task<Ok<ApiKeyListResponse>> List(ApiKeyService keys, CancellationToken ct) =>
        TypedResults.Ok(new ApiKeyListResponse((await keys.ListAsync(ct)).Select(ApiKeyResponse.From).ToList()));

    public static async Task<Results<Ok<ApiKeyResponse>, ProblemHttpResult>> Get(Guid id, ApiKeyService keys, CancellationToken ct) =>
        await keys.FindAsync(id, ct) is { } row ? TypedResults.Ok(ApiKeyResponse.From(row)) : NotFound;

    private static ProblemHttpResult NotFound => Problems.Result(404, ProblemCodes.ApiKeyNotFound, "No such API key.", "No API key has this id.");

    public static async Task<Results<NoContent, ProblemHttpResult>> Revoke(
        Guid id, ApiKeyService keys, TimeProvider time, ClaimsPrincipal caller, CancellationToken ct)
    {
        if (await keys.RevokeAsync(id, time.GetUtcNow(), caller.ApiKeyId(), ct) || await keys.FindAsync(id, ct) is not null)
        {
            return TypedResults.NoContent();
        }

        return NotFound;
    }
}
