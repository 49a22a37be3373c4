namespace AuthService.Api.Http;

/// <summary>A value or the <see cref="Problem"/> that prevented it: expected outcomes are values, not exceptions.</summary>
public readonly record struct Result<T>(T? Value, Problem? Error)
{
    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(Problem error) => new(default, error);
}
