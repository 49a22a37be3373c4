namespace AuthService.Tests.Infrastructure.Contract;

/// <summary>What a test may relax in the contract check, always with a reason that says why.</summary>
public enum Relaxation
{
    /// <summary>The answer is not checked at all (a test that sends deliberate garbage and checks the answer itself).</summary>
    Skip,

    /// <summary>Kestrel's own refusals (400, 414, 431 with an empty body and no content type, docs/OPERATIONS.md) are
    /// accepted; every other answer is checked as usual.</summary>
    ServerRejections,
}

/// <summary>How a test opts out of the contract check for one request (<see cref="Relax(HttpRequestMessage, Relaxation, string)"/>)
/// or for the requests of one block (<see cref="Relax(Relaxation, string)"/>, an async-local scope).</summary>
public static class ContractCheck
{
    private static readonly HttpRequestOptionsKey<(Relaxation, string)> Key = new("AuthService.ContractCheck");
    private static readonly AsyncLocal<(Relaxation, string)?> Scope = new();

    public static HttpRequestMessage Relax(this HttpRequestMessage request, Relaxation relaxation, string reason)
    {
        request.Options.Set(Key, (relaxation, Reason(reason)));
        return request;
    }

    public static IDisposable Relax(Relaxation relaxation, string reason)
    {
        var outer = Scope.Value;
        Scope.Value = (relaxation, Reason(reason));
        return new Restore(() => Scope.Value = outer);
    }

    internal static Relaxation? For(HttpRequestMessage request) =>
        request.Options.TryGetValue(Key, out var relaxed) ? relaxed.Item1 : Scope.Value?.Item1;

    /// <summary>Kestrel refused the request before the application ran (docs/OPERATIONS.md).</summary>
    internal static bool IsServerRejection(int status, string? mediaType, string body) =>
        status is 400 or 414 or 431 && mediaType is null && body.Length == 0;

    private static string Reason(string reason) =>
        string.IsNullOrWhiteSpace(reason) ? throw new ArgumentException("Say why the contract check is relaxed.", nameof(reason)) : reason;

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
