using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.TwoFactor;

public class BackupCodeTests : AppFixture
{
    [Test]
    public async Task Backup_code_works_once()
    {
        var user = await Flows.EnableTotpAsync(App, Client);

        var first = await Flows.VerifyAsync(Client, user.UserId, new { backupCode = user.BackupCodes[0] });
        var body = await first.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.That(body.GetProperty("method").GetString(), Is.EqualTo("backup_code"));
        Assert.That(body.GetProperty("backupCodesRemaining").GetInt32(), Is.EqualTo(9));
        Assert.That(body.TryGetProperty("driftSteps", out _), Is.False);

        var second = await Flows.VerifyAsync(Client, user.UserId, new { backupCode = user.BackupCodes[0] });
        await ProblemAssert.IsProblemAsync(second, HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Backup_code_is_accepted_in_any_case_without_hyphen_or_with_spaces()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var variants = new[]
        {
            user.BackupCodes[1].ToUpperInvariant(),
            user.BackupCodes[2].Replace("-", ""),
            " " + user.BackupCodes[3].Replace("-", " ") + " ",
        };

        foreach (var variant in variants)
        {
            var response = await Flows.VerifyAsync(Client, user.UserId, new { backupCode = variant });
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), variant);
        }

        var remaining = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor/backup-codes");
        Assert.That(remaining.GetProperty("remaining").GetInt32(), Is.EqualTo(7));
    }

    [Test]
    public async Task Another_users_backup_code_is_refused()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var bob = await Flows.EnableTotpAsync(App, Client);
        var response = await Flows.VerifyAsync(Client, bob.UserId, new { backupCode = ann.BackupCodes[0] });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task Concurrent_uses_of_one_backup_code_succeed_exactly_once()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var clients = Enumerable.Range(0, 20).Select(_ => App.AdminClient()).ToArray();

        var responses = await Race.RunAsync(20, i => Flows.VerifyAsync(clients[i], user.UserId, new { backupCode = user.BackupCodes[4] }),
            i => clients[i].GetAsync($"/v1/users/{user.UserId}/two-factor"));

        // One success; then every replay is a failed attempt: 5 are answered invalid_code, the rest hit the
        // per-minute attempt limit. Any other split means a rule was not applied atomically.
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(1));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(14));
        var remaining = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}/two-factor/backup-codes");
        Assert.That(remaining.GetProperty("remaining").GetInt32(), Is.EqualTo(9));
    }

    [Test]
    public async Task Regenerating_needs_proof_and_kills_every_older_code()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var url = $"/v1/users/{user.UserId}/two-factor/backup-codes";

        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(url, new { }), HttpStatusCode.BadRequest, "validation_failed");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(url, new { proof = new { code = "000000" } }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");

        var response = await Client.PostAsJsonAsync(url, new { proof = new { code = Flows.Code(user.Secret, App.Time.GetUtcNow()) } });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var fresh = body.GetProperty("backupCodes").EnumerateArray().Select(c => c.GetString()!).ToList();
        Assert.That(fresh, Has.Count.EqualTo(10));
        Assert.That(fresh, Has.No.AnyOf(user.BackupCodes.ToArray()));

        foreach (var old in user.BackupCodes.Take(3))
        {
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { backupCode = old }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
        }

        Assert.That((await Flows.VerifyAsync(Client, user.UserId, new { backupCode = fresh[0] })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>A backup code that proves a change is spent by it. The proof here starts a factor addition, which keeps the
    /// other codes: regenerating the codes (the proof this test used before) replaces every code anyway, so the second use
    /// was refused whether the first had spent the code or not.</summary>
    [Test]
    public async Task A_backup_code_as_proof_is_consumed()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var url = $"/v1/users/{user.UserId}/two-factor";
        var added = await Client.PostAsJsonAsync(url + "/factors", new { method = "totp", proof = new { backupCode = user.BackupCodes[0] } });
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created), await added.Content.ReadAsStringAsync());

        Assert.That((await Client.GetFromJsonAsync<JsonElement>(url + "/backup-codes")).GetProperty("remaining").GetInt32(),
            Is.EqualTo(user.BackupCodes.Count - 1));
        var events = await Client.GetFromJsonAsync<JsonElement>(url + "/events?limit=50");
        Assert.That(events.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()), Has.Member("backup_code_used"));
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(url + "/backup-codes", new { proof = new { backupCode = user.BackupCodes[0] } }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { backupCode = user.BackupCodes[0] }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    [Test]
    public async Task The_proof_code_of_a_regeneration_cannot_be_replayed_at_login()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var code = Flows.Code(user.Secret, App.Time.GetUtcNow());
        (await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/backup-codes", new { proof = new { code } }))
            .EnsureSuccessStatusCode();

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
    }
}
