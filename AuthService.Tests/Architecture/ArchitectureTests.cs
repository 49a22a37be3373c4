using ArchUnitNET.Domain;
using ArchUnitNET.Fluent;
using ArchUnitNET.Loader;
using ArchUnitNET.NUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;
using ArchitectureModel = ArchUnitNET.Domain.Architecture;

namespace AuthService.Tests.Architecture;

/// <summary>The layering of docs/ARCHITECTURE.md, checked on the compiled assemblies: route table → use case → Core
/// decision → repository, one direction, and no cycles between the feature folders (<c>AuthService.Api.&lt;Feature&gt;</c>).
/// Each rule fails the build when it breaks.</summary>
public sealed class ArchitectureTests
{
    private const string Api = "AuthService.Api";

    private static readonly ArchitectureModel Code = new ArchLoader()
        .LoadAssemblies(typeof(AuthService.Api.Storage.AuditLog).Assembly, typeof(AuthService.Core.UserIds).Assembly)
        .Build();

    /// <summary>A full-name pattern for the types of these namespaces (and those below them), referenced ones included.</summary>
    private static string Namespaces(params string[] namespaces) => "^(" + string.Join("|", namespaces) + ")\\.";

    /// <summary>The route tables: <c>&lt;Feature&gt;/&lt;Feature&gt;Api</c> (<c>MapXxx</c>).</summary>
    private static readonly IObjectProvider<IType> RouteTables =
        Types().That().ResideInNamespaceMatching("^AuthService\\.Api\\.").And().HaveNameEndingWith("Api")
            .As("route tables (*Api)");

    /// <summary>The repositories: SQL for one table or aggregate each, taking the caller's connection.</summary>
    private static readonly IObjectProvider<IType> Repositories =
        Types().That().HaveFullNameMatching(
                "^AuthService\\.Api\\.(Storage\\.\\w+(Store|Ledger)|Storage\\.AuditLog|Storage\\.WebhookOutbox|TwoFactor\\.Passkeys\\.PasskeyStore|Webhooks\\.Webhook(Store|Queue))$")
            .As("repositories");

    [Test]
    public void Core_references_no_io_no_aspnet_and_no_database()
    {
        Types().That().ResideInAssembly(typeof(AuthService.Core.UserIds).Assembly)
            .Should().NotDependOnAnyTypesThat().HaveFullNameMatching(Namespaces("System\\.IO", "System\\.Net", "Npgsql", "NpgsqlTypes", "Dapper", "Microsoft\\.AspNetCore"))
            .Because("Core decides; it does not wait (docs/ARCHITECTURE.md)")
            .Check(Code);
    }

    [Test]
    public void Route_tables_use_no_database()
    {
        Types().That().Are(RouteTables).Should().NotDependOnAnyTypesThat().HaveFullNameMatching(Namespaces("Npgsql", "NpgsqlTypes", "Dapper"))
            .Because("a route calls one use case, which owns the connection and the transaction")
            .Check(Code);
    }

    [Test]
    public void Repositories_are_called_only_from_use_cases()
    {
        // Not from route tables, nor from the layers below or beside the use cases.
        Types().That().Are(RouteTables)
            .Or().ResideInNamespaceMatching($"^{Api}\\.(Http|Security|Hosting|Configuration|Observability|Events)$")
            .Should().NotDependOnAny(Repositories)
            .Because("a route calls one use case, and only a use case opens a connection and calls repositories")
            .Check(Code);
    }

    [Test]
    public void Repository_rules_see_the_repositories()
    {
        // The rule above would pass vacuously if the repositories were not found.
        var found = Repositories.GetObjects(Code).Select(t => t.Name).ToList();
        Assert.That(found, Is.SupersetOf(new[]
        {
            "TwoFactorStore", "AttemptLedger", "PhoneCodeStore", "DeliveryLedger", "IdempotencyStore", "PromptSkipStore", "ApiKeyStore",
            "AuditLog", "WebhookOutbox", "PasskeyStore", "WebhookStore", "WebhookQueue", "DeviceStore",
        }));
        Assert.That(RouteTables.GetObjects(Code).Select(t => t.Name), Is.SupersetOf(new[]
        {
            "TwoFactorApi", "LoginDecisionsApi", "SupportApi", "WebhooksApi", "ApiKeysApi", "HealthApi", "DevicesApi",
        }));
    }

    [Test]
    public void Feature_folders_have_no_cycles()
    {
        var cycles = FolderCycles(Code);
        Assert.That(cycles, Is.Empty, () => "feature folders that depend on each other:\n" + string.Join("\n", cycles.Select(c =>
            string.Join(" ↔ ", c) + "\n    " + string.Join("\n    ", Edges(Code, c)))));
    }

    /// <summary>The folders of <c>AuthService.Api</c> that reach each other (strongly connected components of more than one
    /// folder), each sorted by name.</summary>
    internal static List<string[]> FolderCycles(ArchitectureModel code)
    {
        var graph = FolderGraph(code);
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var components = new List<string[]>();
        foreach (var folder in graph.Keys)
        {
            if (!index.ContainsKey(folder))
            {
                Connect(folder);
            }
        }

        return components.Where(c => c.Length > 1).ToList();

        void Connect(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            foreach (var w in graph[v])
            {
                if (!index.ContainsKey(w))
                {
                    Connect(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (stack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    component.Add(w);
                }
                while (w != v);
                components.Add(component.Order(StringComparer.Ordinal).ToArray());
            }
        }
    }

    private static Dictionary<string, SortedSet<string>> FolderGraph(ArchitectureModel code)
    {
        var graph = new Dictionary<string, SortedSet<string>>();
        foreach (var (from, to, _) in FolderDependencies(code))
        {
            graph.TryAdd(from, []);
            graph.TryAdd(to, []);
            graph[from].Add(to);
        }

        return graph;
    }

    private static IEnumerable<(string From, string To, string Because)> FolderDependencies(ArchitectureModel code) =>
        from type in code.Types
        let source = FolderOf(type)
        where source is not null
        from dependency in type.Dependencies
        let target = FolderOf(dependency.Target)
        where target is not null && target != source
        select (source, target, $"{type.FullName} → {dependency.Target.FullName}");

    private static IEnumerable<string> Edges(ArchitectureModel code, string[] cycle) =>
        FolderDependencies(code).Where(d => cycle.Contains(d.From) && cycle.Contains(d.To))
            .Select(d => $"{d.From} → {d.To}: {d.Because}").Distinct().Order(StringComparer.Ordinal).Take(40);

    /// <summary>The feature folder of a type: the namespace segment after <c>AuthService.Api</c>.</summary>
    private static string? FolderOf(IType type)
    {
        var ns = type.Namespace.FullName;
        return ns.StartsWith(Api + ".", StringComparison.Ordinal) ? ns[(Api.Length + 1)..].Split('.')[0] : null;
    }
}
