using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.Http;

/// <summary>Turns every failure that escapes a handler into a problem answer: bad requests the framework
/// detects (malformed JSON, wrong types, oversized bodies) into 4xx, infrastructure failures into 503.
/// Nothing of the exception (message, SQL, stack) reaches the caller.</summary>
public static class ErrorHandling
{
    /// <summary>The problem of a status the framework sets itself: its code, its title (the same as every other answer of that
    /// code gives, RFC 9457 §3.1.3) and, where the title says too little, a detail.</summary>
    private static readonly Dictionary<int, (string Code, string Title, string? Detail)> StatusCodes = new()
    {
        [400] = (ProblemCodes.InvalidRequest, "The request is invalid.", null),
        [401] = (ProblemCodes.Unauthorized, "A valid API key is required.", null),
        [403] = (ProblemCodes.Forbidden, "The API key lacks the scope for this operation.", null),
        [404] = (ProblemCodes.NotFound, "Not found.", null),
        [405] = (ProblemCodes.MethodNotAllowed, "Method not allowed.", null),
        [413] = (ProblemCodes.PayloadTooLarge, PayloadTooLargeTitle, null),
        [415] = (ProblemCodes.UnsupportedMediaType, UnsupportedMediaTypeTitle, JsonOnly),
        [500] = (ProblemCodes.InternalError, "An unexpected error occurred.", null),
        [503] = (ProblemCodes.ServiceUnavailable, "The service is temporarily unavailable.", null),
    };

    internal const string PayloadTooLargeTitle = "The request body is too large.";

    internal const string UnsupportedMediaTypeTitle = "Unsupported media type.";

    internal const string JsonOnly = "The request body must be application/json.";

    internal const string InvalidJsonTitle = "The request body is invalid.";

    public static IServiceCollection AddErrorHandling(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var status = problem.Status ?? 500;
            if (!problem.Extensions.ContainsKey("code") && StatusCodes.TryGetValue(status, out var known))
            {
                problem.Extensions["code"] = known.Code;
                problem.Title = known.Title;
                problem.Type = Problems.TypeBase + known.Code;
                problem.Detail ??= known.Detail;
            }

            problem.Detail ??= problem.Title;
        });
        // After the framework's writer, which declines when Accept names neither JSON nor a wildcard: the answer then went
        // out with its status and no body (or as text/plain from the status-code pages). The API speaks only JSON, so an error
        // is always a problem document (RFC 9457), whatever the caller said it accepts.
        services.AddSingleton<IProblemDetailsWriter, AnyAcceptProblemWriter>();
        services.AddExceptionHandler<ExceptionToProblem>();
        // Surface binding failures as exceptions so they get the same problem answers in every environment.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }

    /// <summary>Writes the problem the framework's writer would, for a caller whose Accept excludes JSON: the same
    /// customization (the stable <c>code</c>), the same <c>traceId</c>, the app's JSON options.</summary>
    private sealed class AnyAcceptProblemWriter(IOptions<ProblemDetailsOptions> options, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : IProblemDetailsWriter
    {
        public bool CanWrite(ProblemDetailsContext context) => true;

        public ValueTask WriteAsync(ProblemDetailsContext context)
        {
            var httpContext = context.HttpContext;
            var problem = context.ProblemDetails;
            problem.Status ??= httpContext.Response.StatusCode;
            problem.Extensions.TryAdd("traceId", Activity.Current?.Id ?? httpContext.TraceIdentifier);
            options.Value.CustomizeProblemDetails?.Invoke(context);
            return new ValueTask(httpContext.Response.WriteAsJsonAsync(problem, json.Value.SerializerOptions, "application/problem+json"));
        }
    }

    private sealed class ExceptionToProblem(IProblemDetailsService problems, ILogger<ExceptionToProblem> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            var (status, code, title, detail) = exception switch
            {
                BadHttpRequestException { StatusCode: 413 } => (413, ProblemCodes.PayloadTooLarge, PayloadTooLargeTitle,
                    "The request body exceeds the size limit."),
                BadHttpRequestException { StatusCode: 415 } => (415, ProblemCodes.UnsupportedMediaType, UnsupportedMediaTypeTitle, JsonOnly),
                BadHttpRequestException e when UnknownMember(e) is { } member => (400, ProblemCodes.UnknownField,
                    "The request body has an unknown field.", $"The request body has a field this operation does not accept: {member}."),
                BadHttpRequestException e when IsParameterFailure(e) => (400, ProblemCodes.InvalidParameter,
                    "A parameter is invalid.", "A route, query or header parameter is missing or has the wrong type."),
                BadHttpRequestException => (400, ProblemCodes.InvalidJson, InvalidJsonTitle,
                    "The request body is missing, is not valid JSON, or has a field of the wrong type."),
                _ when IsDatabaseUnavailable(exception) => (503, ProblemCodes.DatabaseUnavailable,
                    "The database is unavailable.", "Storage is temporarily unavailable; retry shortly."),
                CryptographicException => (503, ProblemCodes.SecretUnavailable,
                    "A stored secret cannot be opened.", "This instance cannot open a stored secret (its key is not in the key ring, or an unknown stored algorithm)."),
                OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, ProblemCodes.ClientClosed,
                    "Client closed request.", "The client closed the request."),
                _ => (500, ProblemCodes.InternalError, "An unexpected error occurred.", "An unexpected error occurred."),
            };

            if (status >= 500)
            {
                logger.LogError(exception, "Request failed: {ProblemCode}", code);
            }
            else
            {
                logger.LogInformation("Rejected request: {ProblemCode} ({ExceptionType})", code, exception.GetType().Name);
            }

            // The exception handler cleared the endpoint before calling this; the request metrics, outside, label the answer
            // with its route, so it goes back (nothing runs it again: the problem below is the answer).
            if (httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint is { } endpoint)
            {
                httpContext.SetEndpoint(endpoint);
            }

            httpContext.Response.StatusCode = status;
            if (status == 503)
            {
                httpContext.Response.Headers.RetryAfter = "5";
            }

            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                ProblemDetails = new ProblemDetails
                {
                    Status = status,
                    Title = title,
                    Detail = detail,
                    Type = Problems.TypeBase + code,
                    Extensions = { ["code"] = code },
                },
            });
        }

        /// <summary>A route, query or header value that did not bind: the framework's two messages for them, read by their fixed
        /// start, never by the caller's value they quote (<c>limit=nobody</c> is no body error). Every other failure here is
        /// the body's: its JSON, or Kestrel reading it (a bad chunk, a body cut short).</summary>
        private static bool IsParameterFailure(BadHttpRequestException exception) =>
            exception.Message.StartsWith("Failed to bind parameter ", StringComparison.Ordinal) ||
            (exception.Message.StartsWith("Required parameter ", StringComparison.Ordinal) &&
             !exception.Message.EndsWith(" was not provided from body.", StringComparison.Ordinal));

        /// <summary>The JSON path of the member no request type declares (<c>$.proof.bogus</c>; Hosting.StrictJson
        /// disallows them), or null for another binding failure. Cut to 100 characters: it is the caller's text.</summary>
        private static string? UnknownMember(BadHttpRequestException exception) =>
            exception.InnerException is JsonException { Message: var message } json &&
            message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal)
                ? (json.Path ?? "$") is var path && path.Length > 100 ? path[..100] + "…" : path
                : null;

        // A connection that fails or a server shutting down is an outage (503); so is a server that cannot take
        // writes right now: a primary demoted under us or a standby reached during a failover (25006
        // read_only_sql_transaction), and class 08 (connection exception). A PostgresException that is not
        // transient is a bug in our SQL and stays a 500 so it gets noticed.
        private static bool IsDatabaseUnavailable(Exception exception) => exception switch
        {
            PostgresException postgres => postgres.IsTransient || postgres.SqlState is PostgresErrorCodes.ReadOnlySqlTransaction
                || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                // 57P01/02/03: the server or a DBA ended the session (admin or crash shutdown, pg_terminate_backend), which
                // arrives as FATAL in the middle of a query; Npgsql does not count it as transient.
                || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal)
                // 57014: the server cancelled the query (pg_cancel_backend, a role's statement_timeout); 40P01: it broke a
                // deadlock by failing this transaction. Either way a retry is the answer (the 503 is still logged as an error).
                || postgres.SqlState is PostgresErrorCodes.QueryCanceled or PostgresErrorCodes.DeadlockDetected,
            NpgsqlException => true,
            // A connection that broke under a multi-result read: Dapper's buffered GridReader moves to the next result in a
            // `finally`, and the closed Npgsql reader's "The reader is closed" replaces the NpgsqlException that broke it
            // (seen as a rare 500 in DatabaseOutageTests while pg_terminate_backend ran). Npgsql raises these only on a
            // connection or reader it already closed.
            InvalidOperationException { Source: "Npgsql" } => true,
            _ => exception.InnerException is not null && IsDatabaseUnavailable(exception.InnerException),
        };
    }
}
