using AuthService.Api.Http;
using AuthService.Api.Storage;

namespace AuthService.Api.TwoFactor.Methods;

/// <summary>The registered <see cref="IFactorMethod"/>s, by name, in registration order (the order a code is tried in). The one
/// place that turns a method's name into its behaviour: nothing else branches on the method.</summary>
public sealed class FactorMethodRegistry
{
    private readonly Dictionary<string, IFactorMethod> _byName;

    private readonly HashSet<string> _methodFields;

    public FactorMethodRegistry(IEnumerable<IFactorMethod> methods)
    {
        All = methods.ToList();
        _byName = All.ToDictionary(m => m.Name, StringComparer.Ordinal);
        _methodFields = All.SelectMany(m => m.RequestFields).ToHashSet(StringComparer.Ordinal);
    }

    public IReadOnlyList<IFactorMethod> All { get; }

    /// <summary>The method of a stored factor or pending row (the database's check constraint allows only registered names).</summary>
    public IFactorMethod this[string name] =>
        _byName.TryGetValue(name, out var method) ? method : throw new UnreadableFactorException($"Unknown factor method '{name}'.");

    public Problem UnknownMethod => Problems.Validation($"method must be {string.Join(", ", All.Select(m => $"'{m.Name}'"))}.");

    /// <summary>Why <paramref name="target"/> cannot be started: an unknown method, a field of another method (the request schema's
    /// alternative for this method does not have it), or its method's own refusal.</summary>
    public Problem? TargetProblem(FactorTarget target) =>
        target.Method is { } name && _byName.TryGetValue(name, out var method)
            ? ForeignField(target, method) ?? method.TargetProblem(target)
            : UnknownMethod;

    private Problem? ForeignField(FactorTarget target, IFactorMethod method) =>
        target.Given().FirstOrDefault(f => _methodFields.Contains(f) && !method.RequestFields.Contains(f)) is { } field
            ? new Problem(400, ProblemCodes.UnknownField, "The request body has an unknown field.",
                $"The request body has a field this operation does not accept: $.{field} (not a field of a {method.Name} factor).")
            : null;

    /// <summary>Starts <paramref name="start"/> with its method (its target was checked with <see cref="TargetProblem"/>).</summary>
    public Task<Result<PendingStarted>> StartAsync(FactorStart start, CancellationToken cancellationToken) =>
        this[start.Target.Method!].StartAsync(start, cancellationToken);

    /// <summary>A factor as the API shows it, by its method.</summary>
    public FactorView Describe(FactorRow factor) => this[factor.Method].Describe(factor);
}
