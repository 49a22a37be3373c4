namespace AuthService.Tests.Infrastructure;

/// <summary>Runs <paramref name="count"/> operations released together by one gate, each on its own client, so
/// they reach the service as concurrent requests on separate database connections.</summary>
public static class Race
{
    public static async Task<T[]> RunAsync<T>(int count, Func<int, Task<T>> operation, Func<int, Task>? warmUp = null)
    {
        if (warmUp is not null)
        {
            // Open the pooled connections first, so the race is decided by the SQL, not by connection set-up.
            await Task.WhenAll(Enumerable.Range(0, count).Select(warmUp));
        }

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            await gate.Task;
            return await operation(i);
        }).ToArray();
        gate.SetResult();
        return await Task.WhenAll(tasks);
    }
}
