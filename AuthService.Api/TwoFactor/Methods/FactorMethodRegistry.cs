using AuthService.Api.Http;
using AuthService.Api.Storage;

namespace AuthService.Api.TwoFactor.Methods;

/// <summary>The registered <see cref="IFactorMethod"/>s, by name, in registration order (the order a code is tried in). The one
/// place that turns a method's name into its behaviour: nothing else branches on the method.</summary>
public sealed class FactorMethodRegistry
{
    private readonly Dictionary<string, IFactorMethod> _byName;

    public FactorMethodRegistry(IEnumerable<IFactorMethod> methods)
    {
        All = methods.ToList();
        _byName = All.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<IFactorMethod> All { get; }

    /// <summary>The method of a stored factor or pending row (the database's check constraint allows only registered names).</summary>
    public IFactorMethod this[string name] =>
        _byName.TryGetValue(name, out var method) ? method : throw new UnreadableFactorException($"Unknown factor method '{name}'.");

    public Problem UnknownMethod => Problems.Validation($"method must be {string.Join(", ", All.Select(m => $"'{m.Name}'"))}.");

    /// <summary>Why <paramref name="target"/> cannot be started: an unknown method, or its method's own refusal.</summary>
    public Problem? TargetProblem(FactorTarget target) =>
        target.Method is { } name && _byName.TryGetValue(name, out var method) ? method.TargetProblem(target) : UnknownMethod;

    /// <summary>Starts <paramref name="start"/> with its method (its target was checked with <see cref="TargetProblem"/>).</summary>
    public Task<Result<PendingStarted>> StartAsync(FactorStart start, CancellationToken cancellationToken) =>
        this[start.Target.Method!].StartAsync(start, cancellationToken);

    /// <summary>A factor as the API shows it, by its method.</summary>
    public FactorView Describe(FactorRow factor) => this[factor.Method].Describe(factor);
}
