namespace AuthService.Api.Storage;

/// <summary>Npgsql reads <c>timestamptz</c> into a <see cref="DateTime"/> of kind UTC when mapped by Dapper; this makes it the
/// <see cref="DateTimeOffset"/> the API speaks, in one place.</summary>
public static class Timestamps
{
    public static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    public static DateTimeOffset? Utc(DateTime? value) => value is { } v ? Utc(v) : null;
}
