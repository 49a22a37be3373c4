// The ceiling of the verify path on this machine: ASP.NET Core + one parameterized single-row Npgsql SELECT per
// request (the TechEmpower "single query" shape), POST with a small JSON body like verify. No auth, no Dapper,
// no writes: what AuthService's verify could approach if it needed one round trip. The bench runs it twice: with the
// plain connection string (Npgsql defaults) and with the service's own pool settings (the "tuned ceiling").
// It also answers the "floor": the same POST and JSON answered without the database, what Kestrel, routing and JSON
// cost by themselves on this machine (issue 27).
using Npgsql;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var connectionString = builder.Configuration.GetConnectionString("Auth")
    ?? throw new InvalidOperationException("Set ConnectionStrings__Auth.");
builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));

var app = builder.Build();

app.MapGet("/health/ready", () => "ok");

app.MapPost("/users/{userId}/check", async (string userId, CheckRequest request, NpgsqlDataSource db, CancellationToken ct) =>
{
    await using var connection = await db.OpenConnectionAsync(ct);
    await using var command = new NpgsqlCommand("select user_id, last_totp_step from factors where user_id = $1", connection);
    command.Parameters.Add(new NpgsqlParameter { Value = userId });
    await using var reader = await command.ExecuteReaderAsync(ct);
    return await reader.ReadAsync(ct)
        ? Results.Ok(new CheckResponse(reader.GetString(0), reader.GetInt64(1), request.Code?.Length ?? 0))
        : Results.NotFound();
});

app.MapPost("/users/{userId}/echo", (string userId, CheckRequest request) =>
    Results.Ok(new CheckResponse(userId, 0, request.Code?.Length ?? 0)));

app.Run();

public sealed record CheckRequest(string? Code);

public sealed record CheckResponse(string UserId, long LastTotpStep, int CodeLength);
