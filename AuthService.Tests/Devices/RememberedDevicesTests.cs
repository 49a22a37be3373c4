using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static AuthService.Tests.Devices.DeviceFlows;

namespace AuthService.Tests.Devices;

/// <summary>DESIGN §9.3 on the real database: a remembered device skips the second step for its own user only, until it
/// expires (FakeTimeProvider) or is revoked; the cap drops the oldest; the list never shows a token; the events.</summary>
public class RememberedDevicesTests : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Devices:MaxPerUser"] = "3" };

    [Test]
    public async Task A_token_skips_the_second_step_for_its_own_user_only()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var bob = await Flows.EnableTotpAsync(App, Client);
        var (token, body) = await RememberAsync(App, Client, ann);
        Assert.That(token, Does.StartWith("dvt_").And.Length.GreaterThanOrEqualTo(4 + 43), "256 bits, base64url");
        Assert.That(body.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddDays(30)));

        var decision = await DecideAsync(Client, ann.UserId, token);
        Assert.That(Trusted(decision), Is.True, decision.ToString());
        AssertNormal(await DecideAsync(Client, bob.UserId, token), "another user's token");
        AssertNormal(await DecideAsync(Client, ann.UserId, token + "x"), "a altered token");
        AssertNormal(await DecideAsync(Client, ann.UserId, null), "no token");
        Assert.That(await ListAsync(Client, bob.UserId), Is.Empty);
        var sso = await Client.PostAsJsonAsync("/v1/login-decisions", new { userId = ann.UserId, loginMethod = "sso", deviceToken = token });
        Assert.That((await sso.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("reason", out _), Is.False, "sso needs no device");
    }

    [Test]
    public async Task The_list_shows_label_and_times_never_the_token_and_a_use_updates_last_used()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var (token, _) = await RememberAsync(App, Client, ann, "Firefox on Linux");
        var remembered = Now;
        var device = (await ListAsync(Client, ann.UserId)).Single();
        Assert.That(device.GetProperty("label").GetString(), Is.EqualTo("Firefox on Linux"));
        Assert.That(device.GetProperty("createdAt").GetDateTimeOffset(), Is.EqualTo(remembered));
        Assert.That(device.GetProperty("lastUsedAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(device.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(remembered.AddDays(30)));
        Assert.That(device.ToString(), Does.Not.Contain(token).And.Not.Contain("hash"));

        App.Time.Advance(TimeSpan.FromHours(5));
        Assert.That(Trusted(await DecideAsync(Client, ann.UserId, token)), Is.True);
        Assert.That((await ListAsync(Client, ann.UserId)).Single().GetProperty("lastUsedAt").GetDateTimeOffset(), Is.EqualTo(Now));
    }

    [Test]
    public async Task A_token_expires_after_remember_days()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var (token, _) = await RememberAsync(App, Client, ann);
        App.Time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromSeconds(1));
        Assert.That(Trusted(await DecideAsync(Client, ann.UserId, token)), Is.True, "a second before expiry");
        App.Time.Advance(TimeSpan.FromSeconds(1));
        AssertNormal(await DecideAsync(Client, ann.UserId, token), "expired");
        Assert.That(await ListAsync(Client, ann.UserId), Is.Empty, "an expired device is not listed");
    }

    /// <summary>An expired device is gone as far as every route is concerned: the list hides it, so a revocation does not find
    /// it (404, as the contract says for an expired device) and revoke-all does not count it.</summary>
    [Test]
    public async Task An_expired_device_is_not_found_by_a_revocation_nor_counted_by_revoke_all()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        await RememberAsync(App, Client, ann, "old");
        var oldId = (await ListAsync(Client, ann.UserId)).Single().GetProperty("id").GetGuid();
        App.Time.Advance(TimeSpan.FromDays(20));
        await RememberAsync(App, Client, ann, "newer");
        await RememberAsync(App, Client, ann, "newest");
        App.Time.Advance(TimeSpan.FromDays(10)); // "old" has expired; the other two have not

        await ProblemAssert.IsProblemAsync(await Client.DeleteAsync(Url(ann.UserId, $"/devices/{oldId}")), HttpStatusCode.NotFound, "device_not_found");
        var all = await Client.PostAsync(Url(ann.UserId, "/devices/revoke-all"), null);
        Assert.That(all.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await all.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetInt32(), Is.EqualTo(2), "the live devices only");
    }

    /// <summary>An expired device housekeeping has not removed yet takes no place under the cap, and is not told as revoked:
    /// it was, as <c>devices_revoked</c> cause <c>limit</c> to the audit trail and the portal, though nothing live went.</summary>
    [Test]
    public async Task An_expired_device_takes_no_place_under_the_cap_and_is_not_told_as_revoked()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        await RememberAsync(App, Client, ann, "Expired");
        App.Time.Advance(TimeSpan.FromDays(31));
        var tokens = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            tokens.Add((await RememberAsync(App, Client, ann, $"Browser {i}")).Token);
        }

        Assert.That(await EventTypesAsync(Client, ann.UserId), Has.No.Member("devices_revoked"), "only the expired one went");
        foreach (var token in tokens)
        {
            Assert.That(Trusted(await DecideAsync(Client, ann.UserId, token)), Is.True, "every live device is kept");
        }

        await RememberAsync(App, Client, ann, "Browser 3");
        Assert.That((await EventTypesAsync(Client, ann.UserId)).Count(e => e == "devices_revoked"), Is.EqualTo(1), "the fourth live one drops the oldest");
    }

    [Test]
    public async Task The_cap_drops_the_oldest_device()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var tokens = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            tokens.Add((await RememberAsync(App, Client, ann, $"Browser {i}")).Token);
        }

        var labels = (await ListAsync(Client, ann.UserId)).Select(d => d.GetProperty("label").GetString()).ToList();
        Assert.That(labels, Is.EqualTo(new[] { "Browser 3", "Browser 2", "Browser 1" }), "newest first; Devices:MaxPerUser 3");
        AssertNormal(await DecideAsync(Client, ann.UserId, tokens[0]), "the oldest was dropped");
        Assert.That(Trusted(await DecideAsync(Client, ann.UserId, tokens[1])), Is.True);
        var events = await EventTypesAsync(Client, ann.UserId);
        Assert.That(events.Count(e => e == "devices_revoked"), Is.EqualTo(1), "the drop is audited (cause limit)");
    }

    [Test]
    public async Task A_bad_label_is_refused_before_the_code_is_spent()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var code = Flows.Code(ann.Secret, Now);
        foreach (var label in new[] { "", "  ", new string('a', 65), "line\nbreak" })
        {
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, ann.UserId, new { code, rememberDevice = new { label } }),
                HttpStatusCode.BadRequest, "validation_failed");
        }

        var plain = await Flows.VerifyAsync(Client, ann.UserId, new { code, rememberDevice = new { } });
        var body = await plain.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(plain.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the code was not spent by the refusals: " + body);
        Assert.That((await ListAsync(Client, ann.UserId)).Single().GetProperty("label").GetString(), Is.EqualTo("Remembered browser"));
    }

    [Test]
    public async Task A_failed_verify_remembers_nothing()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var response = await Flows.VerifyAsync(Client, ann.UserId, new { code = "000000", rememberDevice = new { label = "x" } });
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "invalid_code");
        Assert.That(problem.TryGetProperty("deviceToken", out _), Is.False);
        Assert.That(await ListAsync(Client, ann.UserId), Is.Empty);
    }

    [Test]
    public async Task Events_tell_remembered_new_device_logins_and_revocations()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var (token, _) = await RememberAsync(App, Client, ann);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var again = await Flows.VerifyAsync(Client, ann.UserId, new { code = Flows.Code(ann.Secret, Now), deviceToken = token });
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var elsewhere = await Flows.VerifyAsync(Client, ann.UserId, new { code = Flows.Code(ann.Secret, Now), deviceToken = "dvt_unknown" });
        Assert.That(elsewhere.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var revoked = await Client.PostAsync(Url(ann.UserId, "/devices/revoke-all"), null);
        Assert.That((await revoked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetInt32(), Is.EqualTo(1));

        var events = await EventTypesAsync(Client, ann.UserId);
        Assert.That(events.Count(e => e == "device_remembered"), Is.EqualTo(1));
        Assert.That(events.Count(e => e == "new_device_login"), Is.EqualTo(2),
            "the remembering verify and the one with an unknown token; not the one with the valid token");
        Assert.That(events.Count(e => e == "devices_revoked"), Is.EqualTo(1));
        var page = await Client.GetFromJsonAsync<JsonElement>(Url(ann.UserId, "/events?limit=200"));
        Assert.That(page.ToString(), Does.Not.Contain(token));
    }

    /// <summary>A verify asks whether its token is a live device of the user (<c>DeviceStore.IsLiveAsync</c>): another user's
    /// live token and the user's own expired token are new devices, told by <c>new_device_login</c> like no token at all.</summary>
    [Test]
    public async Task A_verify_with_another_users_token_or_an_expired_one_is_a_new_device_login()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var bob = await Flows.EnableTotpAsync(App, Client);
        var (annToken, _) = await RememberAsync(App, Client, ann);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        var (bobToken, _) = await RememberAsync(App, Client, bob);
        async Task<int> NewDeviceLoginsAfterVerifyAsync(string token)
        {
            App.Time.Advance(TimeSpan.FromSeconds(30));
            var verified = await Flows.VerifyAsync(Client, ann.UserId, new { code = Flows.Code(ann.Secret, Now), deviceToken = token });
            Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK), await verified.Content.ReadAsStringAsync());
            return (await EventTypesAsync(Client, ann.UserId)).Count(e => e == "new_device_login");
        }

        var before = (await EventTypesAsync(Client, ann.UserId)).Count(e => e == "new_device_login");
        Assert.That(await NewDeviceLoginsAfterVerifyAsync(annToken), Is.EqualTo(before), "her own live token: a known device");
        Assert.That(await NewDeviceLoginsAfterVerifyAsync(bobToken), Is.EqualTo(before + 1), "another user's live token");
        App.Time.Advance(TimeSpan.FromDays(30));
        Assert.That(await NewDeviceLoginsAfterVerifyAsync(annToken), Is.EqualTo(before + 2), "her own token, expired");
    }

    [Test]
    public async Task Revoking_one_device_stops_it_and_keeps_the_others()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var (first, _) = await RememberAsync(App, Client, ann, "first");
        var (second, _) = await RememberAsync(App, Client, ann, "second");
        var id = (await ListAsync(Client, ann.UserId)).Single(d => d.GetProperty("label").GetString() == "first").GetProperty("id").GetGuid();
        Assert.That((await Client.DeleteAsync(Url(ann.UserId, $"/devices/{id}"))).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        AssertNormal(await DecideAsync(Client, ann.UserId, first), "revoked");
        Assert.That(Trusted(await DecideAsync(Client, ann.UserId, second)), Is.True);
        await ProblemAssert.IsProblemAsync(await Client.DeleteAsync(Url(ann.UserId, $"/devices/{id}")), HttpStatusCode.NotFound, "device_not_found");
        var bob = await Flows.EnableTotpAsync(App, Client);
        var secondId = (await ListAsync(Client, ann.UserId)).Single().GetProperty("id").GetGuid();
        await ProblemAssert.IsProblemAsync(await Client.DeleteAsync(Url(bob.UserId, $"/devices/{secondId}")), HttpStatusCode.NotFound,
            "device_not_found");
        Assert.That(Trusted(await DecideAsync(Client, ann.UserId, second)), Is.True, "another user cannot revoke it");
    }

    /// <summary>The cap under logins at once: eight verifies that each remember a browser (eight backup codes, eight
    /// connections) leave exactly <c>Devices:MaxPerUser</c> (3) live devices, and the drops the audit trail tells add up to the
    /// five that went. Each drop is decided under the user's lock in its own login's transaction.</summary>
    [Test]
    public async Task Eight_logins_remembering_at_once_keep_the_cap_and_audit_every_drop()
    {
        var ann = await Flows.EnableTotpAsync(App, Client);
        var answers = await Task.WhenAll(ann.BackupCodes.Take(8).Select((code, i) => Task.Run(() =>
            Flows.VerifyAsync(Client, ann.UserId, new { backupCode = code, rememberDevice = new { label = $"Browser {i}" } }))));
        var tokens = new List<string>();
        foreach (var answer in answers)
        {
            var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
            tokens.Add(body.GetProperty("deviceToken").GetString()!);
        }

        var listed = await ListAsync(Client, ann.UserId);
        Assert.That(listed, Has.Count.EqualTo(3), "Devices:MaxPerUser 3");
        var trusted = 0;
        foreach (var token in tokens)
        {
            trusted += Trusted(await DecideAsync(Client, ann.UserId, token)) ? 1 : 0;
        }

        Assert.That(trusted, Is.EqualTo(3), "only the listed devices skip the second step");
        var page = await Client.GetFromJsonAsync<JsonElement>(Url(ann.UserId, "/events?limit=200"));
        var drops = page.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("type").GetString() == "devices_revoked")
            .Select(e => e.GetProperty("details")).ToList();
        Assert.That(drops.Select(d => d.GetProperty("cause").GetString()), Has.All.EqualTo("limit"));
        Assert.That(drops.Sum(d => d.GetProperty("count").GetInt32()), Is.EqualTo(5), "every device that went is told, once");
    }
}
