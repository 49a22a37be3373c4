using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Core.Totp;

namespace AuthService.HaTest;

/// <summary>One answer the load got: when it was sent and answered, from which instance, for what, with which status
/// (0 = no answer at all: a timeout or a refused connection).</summary>
public sealed record Answer(DateTime Sent, DateTime At, int Instance, string Op, int Status, string? Code);

/// <summary>What the test users are: TOTP users (one login each: the long test period gives one fresh step per user),
/// phone users (one challenge and its code each), users whose backup codes are spent one by one.</summary>
public sealed class Users
{
    public required string[] Totp { get; init; }
    public required byte[][] TotpSecrets { get; init; }
    public required string[] Phone { get; init; }
    public required Func<int, string> PhoneNumber { get; init; }
    public required (string User, string Code)[] BackupCodes { get; init; }
}

/// <summary>Closed-loop verify and challenge load on every instance, bounded by a token and a deadline. Every
/// acknowledged (200) consumption or enrollment is recorded for the checks after the failover.</summary>
public sealed class Workload(IReadOnlyList<HttpClient> instances, Users users, SmsCatcher sms, TotpProfile profile)
{
    private int _nextTotp = -1, _nextPhone = -1, _nextBackup = -1, _nextEnroll = -1;

    public ConcurrentQueue<Answer> Answers { get; } = new();
    public ConcurrentQueue<(string User, string Code, long Step)> TotpAcked { get; } = new();
    public ConcurrentQueue<(string User, string Code)> BackupAcked { get; } = new();
    public ConcurrentQueue<(string User, string Code)> PhoneAcked { get; } = new();
    public ConcurrentQueue<string> EnrollAcked { get; } = new();
    public bool TotpUsersExhausted { get; private set; }

    public Task RunAsync(int workers, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkerAsync(w, stop))));

    private async Task WorkerAsync(int worker, CancellationToken stop)
    {
        var instance = worker % instances.Count;
        var client = instances[instance];
        for (var i = worker; !stop.IsCancellationRequested; i++)
        {
            // Per 20 requests: 14 TOTP logins, 2 backup-code logins, 2 challenge + phone login, 1 enrollment.
            var status = (i % 20) switch
            {
                0 or 10 => await BackupAsync(client),
                1 or 11 => await PhoneAsync(client),
                2 => await EnrollAsync(client),
                _ => await TotpAsync(client),
            };
            if (status == -1)
            {
                await Task.Delay(50, CancellationToken.None); // out of fresh users: idle rather than spin
            }
            else if (status is not (200 or 201 or 202))
            {
                // A client backs off after a failure (the 503s carry Retry-After: 5; this is a shorter, eager client).
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }

    private async Task<int> TotpAsync(HttpClient client)
    {
        var u = Interlocked.Increment(ref _nextTotp);
        if (u >= users.Totp.Length)
        {
            TotpUsersExhausted = true;
            return -1;
        }

        var now = DateTimeOffset.UtcNow;
        var code = TotpVerifier.Compute(users.TotpSecrets[u], profile, now);
        var status = await SendAsync(client, "totp", $"/v1/users/{users.Totp[u]}/two-factor/verify", new { code });
        if (status == 200)
        {
            TotpAcked.Enqueue((users.Totp[u], code, now.ToUnixTimeSeconds() / profile.PeriodSeconds));
        }

        return status;
    }

    private async Task<int> BackupAsync(HttpClient client)
    {
        var b = Interlocked.Increment(ref _nextBackup);
        if (b >= users.BackupCodes.Length)
        {
            return await TotpAsync(client);
        }

        var (user, code) = users.BackupCodes[b];
        var status = await SendAsync(client, "backup", $"/v1/users/{user}/two-factor/verify", new { backupCode = code });
        if (status == 200)
        {
            BackupAcked.Enqueue((user, code));
        }

        return status;
    }

    private async Task<int> PhoneAsync(HttpClient client)
    {
        var p = Interlocked.Increment(ref _nextPhone);
        if (p >= users.Phone.Length)
        {
            return await TotpAsync(client);
        }

        var user = users.Phone[p];
        var status = await SendAsync(client, "challenge", $"/v1/users/{user}/two-factor/challenge", new { channel = "sms" });
        if (status is not (200 or 202) || !sms.TryTake(users.PhoneNumber(p), out var code))
        {
            return status;
        }

        status = await SendAsync(client, "phone", $"/v1/users/{user}/two-factor/verify", new { code });
        if (status == 200)
        {
            PhoneAcked.Enqueue((user, code));
        }

        return status;
    }

    private async Task<int> EnrollAsync(HttpClient client)
    {
        var user = $"ha-enroll-{Interlocked.Increment(ref _nextEnroll):D6}-{Guid.NewGuid():N}";
        var (status, body) = await SendForBodyAsync(client, "enroll", $"/v1/users/{user}/two-factor/enroll", new { method = "totp" });
        if (status != 201 || body is not { } started)
        {
            return status;
        }

        var secret = Base32(started.GetProperty("secret").GetString()!);
        var code = TotpVerifier.Compute(secret, profile, DateTimeOffset.UtcNow);
        status = await SendAsync(client, "confirm", $"/v1/users/{user}/two-factor/enroll/confirm", new { code });
        if (status == 200)
        {
            EnrollAcked.Enqueue(user);
        }

        return status;
    }

    private async Task<int> SendAsync(HttpClient client, string op, string path, object body) =>
        (await SendForBodyAsync(client, op, path, body)).Status;

    private async Task<(int Status, JsonElement? Body)> SendForBodyAsync(HttpClient client, string op, string path, object body)
    {
        var instance = IndexOf(client);
        var sent = DateTime.UtcNow;
        try
        {
            using var response = await client.PostAsJsonAsync(path, body);
            var text = await response.Content.ReadAsStringAsync();
            JsonElement? json = text.Length > 0 && text[0] == '{' ? JsonDocument.Parse(text).RootElement.Clone() : null;
            var code = response.IsSuccessStatusCode ? null
                : json is { } j && j.TryGetProperty("code", out var c) ? c.GetString() : null;
            Answers.Enqueue(new Answer(sent, DateTime.UtcNow, instance, op, (int)response.StatusCode, code));
            return ((int)response.StatusCode, json);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            Answers.Enqueue(new Answer(sent, DateTime.UtcNow, instance, op, 0, e.GetType().Name));
            return (0, null);
        }
    }

    private int IndexOf(HttpClient client)
    {
        for (var i = 0; i < instances.Count; i++)
        {
            if (ReferenceEquals(instances[i], client))
            {
                return i;
            }
        }

        return -1;
    }

    public static byte[] Base32(string text)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bits = 0;
        var value = 0;
        var output = new List<byte>();
        foreach (var ch in text.TrimEnd('=').ToUpperInvariant())
        {
            value = (value << 5) | alphabet.IndexOf(ch);
            bits += 5;
            if (bits >= 8)
            {
                output.Add((byte)(value >> (bits - 8)));
                bits -= 8;
            }
        }

        return [.. output];
    }

    /// <summary>Sends each acknowledged code once more, spread over the instances; returns which were accepted again
    /// (200; indexes into <paramref name="replays"/>) and how many got no definite answer. A 503 (or no answer at all) is
    /// not a decision: the replay is sent again after a second, as a client does after <c>Retry-After</c>, up to
    /// <paramref name="attempts"/> times. Under a loaded machine a replay can wait out the command timeout on the user's
    /// lock (PBKDF2 of the backup codes runs under it) and get 503 `database_unavailable`; that says nothing about single
    /// use. A 503 or a lost answer could in principle hide an acceptance, which is why the caller also counts the success
    /// events the replays wrote in the database.</summary>
    public static async Task<(IReadOnlyList<int> Accepted, int Unanswered)> ReplayAsync(IReadOnlyList<HttpClient> instances,
        IReadOnlyList<(string User, object Body)> replays, int parallel, int attempts = 10)
    {
        var accepted = new ConcurrentBag<int>();
        int unanswered = 0, next = -1;
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(w => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < replays.Count; i = Interlocked.Increment(ref next))
            {
                var (user, body) = replays[i];
                for (var attempt = 0; ; attempt++)
                {
                    int status;
                    try
                    {
                        using var response = await instances[(i + attempt) % instances.Count].PostAsJsonAsync($"/v1/users/{user}/two-factor/verify", body);
                        status = (int)response.StatusCode;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        status = 0;
                    }

                    if (status == 200)
                    {
                        accepted.Add(i);
                    }
                    else if (status is 0 or 503 && attempt + 1 < attempts)
                    {
                        await Task.Delay(1000);
                        continue;
                    }
                    else if (status is 0 or >= 500)
                    {
                        Interlocked.Increment(ref unanswered);
                    }

                    break;
                }
            }
        })));
        return ([.. accepted.Order()], unanswered);
    }
}
