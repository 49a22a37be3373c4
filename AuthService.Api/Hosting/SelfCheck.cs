namespace AuthService.Api.Hosting;

/// <summary><c>dotnet AuthService.Api.dll healthcheck</c>: exit 0 when this machine's instance answers /health/live.</summary>
public static class SelfCheck
{
    public static async Task<int> RunAsync(string? urls)
    {
        var first = (urls ?? "http://localhost:8080").Split(';', StringSplitOptions.RemoveEmptyEntries)[0]
            .Replace("://+", "://localhost").Replace("://*", "://localhost").Replace("://0.0.0.0", "://localhost");
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            var response = await client.GetAsync(new Uri(new Uri(first), "/health/live"));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            Console.Error.WriteLine($"healthcheck failed: {e.Message}");
            return 1;
        }
    }
}
