using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace AuthService.Tests.Infrastructure.Contract;

/// <summary>Checks every answer the service gives a test against <c>openapi.yaml</c> (<see cref="OpenApiContract"/>).
/// It sits in every HttpClient the tests get from <see cref="AuthApp"/> and <see cref="ServiceProcess"/>, so in-process
/// and real-process answers alike are checked, their problem <c>code</c> and required headers (<c>Retry-After</c>) too. A mismatch fails the test that made the request (an NUnit assertion,
/// recorded even if the test catches the exception) with the operation, the status and the JSON path of the mismatch.</summary>
public sealed class ContractCheckingHandler : DelegatingHandler
{
    public ContractCheckingHandler()
    {
    }

    public ContractCheckingHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        var relaxation = ContractCheck.For(request);
        if (relaxation == Relaxation.Skip)
        {
            return response;
        }

        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var status = (int)response.StatusCode;
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (relaxation == Relaxation.ServerRejections && ContractCheck.IsServerRejection(status, mediaType, body))
        {
            return response;
        }

        var path = request.RequestUri!.IsAbsoluteUri ? request.RequestUri.AbsolutePath : request.RequestUri.OriginalString.Split('?')[0];
        var failure = OpenApiContract.Current.Check(request.Method.Method, path, status, mediaType, body,
            name => response.Headers.Contains(name) || response.Content.Headers.Contains(name)) ?? ChangedTitle(mediaType, body);
        if (failure is not null)
        {
            response.Dispose();
            Assert.Fail($"Contract mismatch: {request.Method} {path} answered {status} {mediaType ?? "(no content type)"}\n" +
                        $"{failure}\n  body: {Shorten(body)}\n" +
                        "Fix the service or the document (make openapi regenerates openapi.yaml from the code). A test that sends deliberate " +
                        "garbage may relax the check for one request: request.Relax(Relaxation.Skip, \"why\").");
        }

        return response;
    }

    /// <summary>The first title the service answered each problem code with, over the whole test run: a problem type's title
    /// does not change from one occurrence to the next (RFC 9457 §3.1.3; the type is the code's URI), only its detail does.</summary>
    private static readonly ConcurrentDictionary<string, string> Titles = new();

    private static string? ChangedTitle(string? mediaType, string body)
    {
        if (mediaType != "application/problem+json" || JsonNode.Parse(body) is not JsonObject problem
            || problem["code"] is not JsonValue c || !c.TryGetValue<string>(out var code)
            || problem["title"] is not JsonValue t || !t.TryGetValue<string>(out var title))
        {
            return null; // the contract check has already refused a problem without them
        }

        var first = Titles.GetOrAdd(code, title);
        return first == title ? null
            : $"at /title: '{title}', where an earlier '{code}' problem said '{first}' (one title per problem type, RFC 9457 §3.1.3)";
    }

    private static string Shorten(string body) => body.Length <= 500 ? body : body[..500] + $"… ({body.Length} chars)";
}
