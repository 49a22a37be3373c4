using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace AuthService.Api.Http;

/// <summary>A 200 with a JSON body sent with its <c>Content-Length</c>: the answer of <see cref="ResultAnswers.ToOk{T}"/>.
/// <see cref="Ok{TValue}"/> writes its JSON straight into the response, so Kestrel answers chunked and, in 13–20 % of
/// keep-alive responses under strace, sends the final chunk with a system call of its own (issue 27, docs/SCALING.md). This
/// writes the body to a buffer first and sends headers and body in one write. Same status, content type, JSON (the
/// app's <see cref="JsonOptions"/>) and OpenAPI metadata as <see cref="Ok{TValue}"/>.</summary>
public sealed class JsonOk<TValue>(TValue? value) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult, IValueHttpResult,
    IValueHttpResult<TValue>, IContentTypeHttpResult
{
    public TValue? Value { get; } = value;

    object? IValueHttpResult.Value => Value;

    public int StatusCode => StatusCodes.Status200OK;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public string ContentType => "application/json; charset=utf-8";

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var options = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var body = JsonSerializer.SerializeToUtf8Bytes(Value, TypeInfoFor(options, Value));
        var response = httpContext.Response;
        response.StatusCode = StatusCode;
        response.ContentType = ContentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body).AsTask();
    }

    /// <summary>As <see cref="Ok{TValue}"/> chooses: the declared type's contract unless the value is of a derived type and the
    /// declared type is not polymorphic, then the value's own.</summary>
    private static JsonTypeInfo TypeInfoFor(JsonSerializerOptions options, TValue? value)
    {
        var declared = options.GetTypeInfo(typeof(TValue));
        return value is null || value.GetType() == typeof(TValue) || declared.PolymorphismOptions is not null
            ? declared
            : options.GetTypeInfo(value.GetType());
    }

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(TValue), ["application/json"]));
}

public static class ResultAnswers
{
    /// <summary>The value as a 200 (<see cref="JsonOk{TValue}"/>), or the problem that prevented it.</summary>
    public static Results<JsonOk<T>, ProblemHttpResult> ToOk<T>(Result<T> result) =>
        result.Error is { } error ? error.ToResult() : new JsonOk<T>(result.Value);
}
