using System.Diagnostics;
using System.Net.Http.Json;
using Npgsql;
using static AuthService.Tests.Devices.DeviceFlows;

namespace AuthService.Tests.Devices;

/// <summary>What a login decision's answer and time tell about a presented token (nothing, between unknown and revoked), and
/// what the database dump, the table rows and the log hold of a token (nothing).</summary>
public class DeviceSecrecyTests
{
    private static double Percentile(List<double> sorted, double p) => sorted[(int)Math.Min(sorted.Count - 1, Math.Round(p * (sorted.Count - 1)))];

    [Test]
    public async Task Unknown_revoked_expired_and_other_users_tokens_get_the_same_answer_in_the_same_time()
    {
        using var app = new AuthApp();
        using var client = app.AdminClient();
        var ann = await Flows.EnableTotpAsync(app, client);
        var other = await Flows.EnableTotpAsync(app, client);
        var (revoked, _) = await RememberAsync(app, client, ann, "revoked");
        (await client.PostAsync(Url(ann.UserId, "/devices/revoke-all"), null)).EnsureSuccessStatusCode();
        var (expiring, _) = await RememberAsync(app, client, ann, "expiring");
        app.Time.Advance(TimeSpan.FromDays(31));
        var (othersToken, _) = await RememberAsync(app, client, other, "other user's");

        var kinds = new Dictionary<string, Func<string>>
        {
            ["unknown"] = () => AuthService.Core.Devices.DeviceTokens.Create().Token,
            ["revoked"] = () => revoked,
            ["expired"] = () => expiring,
            ["other user"] = () => othersToken,
        };
        var times = kinds.Keys.ToDictionary(k => k, _ => new List<double>());
        var bodies = kinds.Keys.ToDictionary(k => k, _ => new HashSet<string>());
        for (var warm = 0; warm < 20; warm++)
        {
            foreach (var kind in kinds)
            {
                await DecideAsync(client, ann.UserId, kind.Value());
            }
        }

        for (var i = 0; i < 300; i++)
        {
            foreach (var (kind, token) in kinds)
            {
                var presented = token();
                var watch = Stopwatch.StartNew();
                var response = await client.PostAsJsonAsync("/v1/login-decisions", new { userId = ann.UserId, loginMethod = "password", deviceToken = presented });
                var body = await response.Content.ReadAsStringAsync();
                times[kind].Add(watch.Elapsed.TotalMilliseconds);
                bodies[kind].Add((int)response.StatusCode + " " + body);
            }
        }

        foreach (var kind in kinds.Keys)
        {
            var sorted = times[kind].Order().ToList();
            TestContext.Out.WriteLine($"{kind,-10}: n={sorted.Count} median {Percentile(sorted, 0.5):0.000} ms, p10 {Percentile(sorted, 0.1):0.000}, " +
                                      $"p90 {Percentile(sorted, 0.9):0.000}, p99 {Percentile(sorted, 0.99):0.000}");
        }

        Assert.That(bodies.Values.SelectMany(b => b).Distinct().Count(), Is.EqualTo(1), "one answer, byte for byte, whatever the token");
        var unknown = Percentile(times["unknown"].Order().ToList(), 0.5);
        // A revoked device is deleted, so its token takes the unknown one's path; an expired one and another user's are rows
        // found and then refused, the cases a shortcut would give away.
        Assert.Multiple(() =>
        {
            foreach (var kind in new[] { "revoked", "expired", "other user" })
            {
                var median = Percentile(times[kind].Order().ToList(), 0.5);
                Assert.That(median / unknown, Is.InRange(0.5, 2.0), $"medians: unknown {unknown:0.000} ms, {kind} {median:0.000} ms");
            }
        });
    }

    [Test]
    public async Task No_token_is_in_the_database_dump_or_the_table()
    {
        var connectionString = TestDatabase.CreateDatabase("devices");
        string token, revokedToken;
        string userId;
        // The log is checked on a real process's output (Security/LifecycleSecrecyTests, a remembered browser included): a
        // capture of Console.Out here depended on which in-process host of the run wrote to the console first.
        {
            using var app = new AuthApp(connectionString: connectionString);
            using var client = app.AdminClient();
            var ann = await Flows.EnableTotpAsync(app, client);
            userId = ann.UserId;
            (token, _) = await RememberAsync(app, client, ann);
            (revokedToken, _) = await RememberAsync(app, client, ann, "to revoke", deviceToken: token);
            var id = (await ListAsync(client, ann.UserId)).Single(d => d.GetProperty("label").GetString() == "to revoke").GetProperty("id").GetGuid();
            (await client.DeleteAsync(Url(ann.UserId, $"/devices/{id}"))).EnsureSuccessStatusCode();
            Assert.That(Trusted(await DecideAsync(client, ann.UserId, token)), Is.True);
            AssertNormal(await DecideAsync(client, ann.UserId, revokedToken), "revoked");
        }

        var dump = await PgDump.DumpAsync(connectionString);
        Assert.That(dump, Does.Contain(userId).And.Contain("remembered_devices"), "the dump holds the data it is checked for");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var rows = new NpgsqlCommand("select row_to_json(d)::text from remembered_devices d", connection);
        var table = string.Join("\n", await ReadAllAsync(rows));
        Assert.That(table, Does.Contain(userId));
        Assert.Multiple(() =>
        {
            foreach (var secret in new[] { token, revokedToken })
            {
                var body = secret["dvt_".Length..];
                foreach (var (where, text) in new[] { ("dump", dump), ("table", table) })
                {
                    Assert.That(text, Does.Not.Contain(body), $"a token in the {where}");
                }
            }
        });
    }

    private static async Task<List<string>> ReadAllAsync(NpgsqlCommand command)
    {
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
