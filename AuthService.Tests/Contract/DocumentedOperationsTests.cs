using System.Text.Json.Nodes;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.Infrastructure.Contract;

namespace AuthService.Tests.Contract;

/// <summary>Issue 7's promise on the published document (openapi.yaml, which <see cref="OpenApiContractTests"/> holds equal to
/// the served one): every operation has a summary and a description.</summary>
public class DocumentedOperationsTests
{
    private static readonly JsonObject Document = OpenApiContract.DocumentJson(Path.Combine(Repo.Root, "openapi.yaml"));

    private static IEnumerable<(string Id, JsonObject Operation)> Operations() =>
        Document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject())
            .Where(o => o.Value is JsonObject { } op && op.ContainsKey("responses"))
            .Select(o => (o.Value!["operationId"]!.GetValue<string>(), o.Value!.AsObject()));

    [Test]
    public void Every_operation_has_a_summary_and_a_description()
    {
        var missing = Operations()
            .SelectMany(o => new[] { "summary", "description" }
                .Where(k => string.IsNullOrWhiteSpace(o.Operation[k]?.GetValue<string>())).Select(k => $"{o.Id}: no {k}"))
            .ToList();
        Assert.That(string.Join("\n", missing), Is.Empty, "operations missing a summary or a description");
    }
}
