using AuthService.Api.Operations;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using AuthService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.Operations;

/// <summary>Rotation as an operator does it: add a key and make it active, run <c>rotate-keys</c>, drop the old key.
/// Secrets stay readable before, during and after; a missing or wrong key stops the service with one clear line.</summary>
[Category("Process")]
public class KeyRotationTests
{
    private static readonly string OldKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string NewKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static Dictionary<string, string?> Keys(string active, params (string Id, string Key)[] keys)
    {
        var settings = new Dictionary<string, string?> { ["Encryption:ActiveKeyId"] = active, ["Encryption:Keys:k1"] = null };
        foreach (var (id, key) in keys)
        {
            settings[$"Encryption:Keys:{id}"] = key;
        }

        return settings;
    }

    private static Dictionary<string, string?> Environment(string connectionString, Dictionary<string, string?> keys)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ConnectionStrings__Auth"] = connectionString,
            ["Telephony__Provider"] = "telnyx",
            ["Telephony__Telnyx__ApiKey"] = "KEY",
            ["Telephony__Telnyx__FromNumber"] = "+13035550100",
        };
        foreach (var (key, value) in keys.Where(k => k.Value is not null))
        {
            environment[key.Replace(":", "__")] = value;
        }

        return environment;
    }

    [Test]
    public async Task Rotate_keys_reseals_everything_and_data_stays_readable_throughout()
    {
        var db = TestDatabase.CreateDatabase("rotation");
        using var telnyx = new TelnyxStandIn();
        var before = Keys("old", ("old", OldKey));
        before = before.Concat(telnyx.Settings).ToDictionary(k => k.Key, k => k.Value);

        Flows.EnabledTotpUser totpUser;
        string phoneUser = AuthApp.NewUserId("rot-phone");
        const string phone = "+13035550177";
        using (var app = new AuthApp(before, db))
        using (var client = app.AdminClient())
        {
            totpUser = await Flows.EnableTotpAsync(app, client);
            (await client.PostAsJsonAsync($"/v1/users/{phoneUser}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" })).EnsureSuccessStatusCode();
            (await client.PostAsJsonAsync($"/v1/users/{phoneUser}/two-factor/enroll/confirm", new { code = telnyx.LastCodeTo(phone) })).EnsureSuccessStatusCode();
            await Flows.EnrollTotpAsync(client, AuthApp.NewUserId("rot-pending")); // a pending secret too
        }

        // During: both keys, the new one active, nothing rotated yet: old values still open.
        var during = Keys("new", ("old", OldKey), ("new", NewKey)).Concat(telnyx.Settings).ToDictionary(k => k.Key, k => k.Value);
        using (var app = new AuthApp(during, db))
        using (var client = app.AdminClient())
        {
            app.Time.Advance(TimeSpan.FromMinutes(1));
            Assert.That((await Flows.VerifyAsync(client, totpUser.UserId, new { code = Flows.Code(totpUser.Secret, app.Time.GetUtcNow()) })).StatusCode,
                Is.EqualTo(HttpStatusCode.OK));
        }

        await using (var rotate = ServiceProcess.Start(Environment(db, Keys("new", ("old", OldKey), ("new", NewKey))), ["rotate-keys"]))
        {
            Assert.That(await rotate.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, rotate.Output);
            Assert.That(rotate.Output, Does.Contain("Re-sealed 3 values").And.Contain("Stored values per key: new: 3."));
        }

        // After: the old key is gone and everything still works.
        var after = Keys("new", ("new", NewKey)).Concat(telnyx.Settings).ToDictionary(k => k.Key, k => k.Value);
        using (var app = new AuthApp(after, db))
        using (var client = app.AdminClient())
        {
            app.Time.Advance(TimeSpan.FromMinutes(2));
            Assert.That((await Flows.VerifyAsync(client, totpUser.UserId, new { code = Flows.Code(totpUser.Secret, app.Time.GetUtcNow()) })).StatusCode,
                Is.EqualTo(HttpStatusCode.OK));
            var challenge = await client.PostAsJsonAsync($"/v1/users/{phoneUser}/two-factor/challenge", new { channel = "sms" });
            Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await challenge.Content.ReadAsStringAsync());
            Assert.That(telnyx.DeliveriesTo(phone), Has.Count.EqualTo(2), "the re-sealed number is the number");
        }
    }

    /// <summary>More rows than a batch (500): each batch goes on from the last row key of the one before, in the key's order,
    /// so one pass re-seals every row (a batch used to start again from the top of the table, reading past every row already
    /// re-sealed, which on millions of rows outlasted the command timeout). A batch that went on from anywhere else would leave
    /// rows for a later pass.</summary>
    [Test]
    public async Task Rotation_reseals_more_rows_than_a_batch_holds_in_one_pass()
    {
        var db = TestDatabase.CreateDatabase("rotation_batches");
        Flows.EnabledTotpUser user;
        using (var app = new AuthApp(Keys("old", ("old", OldKey)), db))
        using (var client = app.AdminClient())
        {
            user = await Flows.EnableTotpAsync(app, client);
        }

        await using (var connection = new Npgsql.NpgsqlConnection(db))
        {
            await connection.OpenAsync();
            await using var copy = new Npgsql.NpgsqlCommand(
                "create temp table copies as select f.* from factors f, generate_series(1, 1233) where f.user_id = @userId; " +
                "update copies set factor_id = gen_random_uuid(), is_default = false; " +
                "insert into factors select * from copies;", connection);
            copy.Parameters.AddWithValue("userId", user.UserId);
            await copy.ExecuteNonQueryAsync();
        }

        using var rotating = new AuthApp(Keys("new", ("old", OldKey), ("new", NewKey)), db);
        var rotation = rotating.Services.GetRequiredService<KeyRotation>();
        Assert.That(await rotation.RotatePassAsync(CancellationToken.None), Is.EqualTo(1234), "each of the 1,234 sealed secrets once");
        Assert.That(await rotation.CountByKeyAsync(CancellationToken.None), Does.Not.ContainKey("old"), "all in one pass");
        Assert.That(await rotation.RotateAsync(CancellationToken.None), Is.Zero, "nothing left");
        using var client2 = rotating.AdminClient();
        rotating.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.That((await Flows.VerifyAsync(client2, user.UserId, new { code = Flows.Code(user.Secret, rotating.Time.GetUtcNow()) })).StatusCode,
            Is.EqualTo(HttpStatusCode.OK), "the re-sealed secret opens");
    }

    /// <summary>Under load, webhook deliveries hold key-share locks on their endpoint's row nearly all the time. Rotation took
    /// rows "for update skip locked", which skipped such a row, ended and left its secret under the old key (the count showed
    /// it; a re-run skipped it again). It re-seals it now, and passes again until nothing is left.</summary>
    [Test]
    public async Task Rotation_reseals_a_row_other_transactions_hold_a_key_share_lock_on()
    {
        var db = TestDatabase.CreateDatabase("rotation_locked");
        var webhooks = new Dictionary<string, string?> { ["Webhooks:AllowInsecure"] = "true", ["Webhooks:AllowPrivateNetworks"] = "true" };
        using (var app = new AuthApp(Keys("old", ("old", OldKey)).Concat(webhooks).ToDictionary(k => k.Key, k => k.Value), db))
        using (var client = app.AdminClient())
        {
            (await client.PostAsJsonAsync("/v1/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "*" } })).EnsureSuccessStatusCode();
        }

        using var rotating = new AuthApp(Keys("new", ("old", OldKey), ("new", NewKey)).Concat(webhooks).ToDictionary(k => k.Key, k => k.Value), db);
        await using var holder = new Npgsql.NpgsqlConnection(db);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var share = new Npgsql.NpgsqlCommand("select count(*) from (select 1 from webhook_endpoints for key share) held", holder, hold))
        {
            Assert.That(await share.ExecuteScalarAsync(), Is.EqualTo(1L));
        }

        var rotation = rotating.Services.GetRequiredService<KeyRotation>();
        Assert.That(await rotation.RotateAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.That(await rotation.CountByKeyAsync(CancellationToken.None), Does.Not.ContainKey("old"));
        await hold.RollbackAsync();
    }

    [Test]
    public async Task A_missing_or_wrong_key_is_a_one_line_startup_refusal()
    {
        var db = TestDatabase.CreateDatabase("rotation_missing");
        using (var app = new AuthApp(Keys("old", ("old", OldKey)), db))
        using (var client = app.AdminClient())
        {
            await Flows.EnableTotpAsync(app, client);
        }

        foreach (var keys in new[] { Keys("new", ("new", NewKey)), Keys("old", ("old", NewKey)) })
        {
            await using var service = ServiceProcess.Start(Environment(db, keys));
            Assert.That(await service.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Not.Zero);
            var lines = service.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines, Has.Length.EqualTo(1), service.Output);
            Assert.That(lines[0], Does.StartWith("AuthService cannot start: Encryption key 'old'"));
        }
    }

    /// <summary>During a rollout of a new key, an instance that does not hold it yet passes over a bypass code hashed under it:
    /// the user's other code, hashed under a key it holds, still works there; a code it cannot tell from the unreadable one is a
    /// 503 for that attempt, audited as a bypass code's (it used to be the first row that decided, and was audited as TOTP).</summary>
    [Test]
    public async Task A_bypass_code_under_a_key_this_instance_lacks_does_not_fail_the_users_other_code()
    {
        var db = TestDatabase.CreateDatabase("rotation_bypass_rollout");
        using var before = new AuthApp(Keys("old", ("old", OldKey)), db);
        using var after = new AuthApp(Keys("new", ("old", OldKey), ("new", NewKey)), db);
        using var oldClient = before.AdminClient();
        using var newClient = after.AdminClient();
        var user = await Flows.EnableTotpAsync(before, oldClient);
        await AuthService.Tests.Support.BypassCodeTests.IssueAsync(newClient, user.UserId, ticket: "SUP-NEW"); // under "new"
        var readable = await AuthService.Tests.Support.BypassCodeTests.IssueAsync(oldClient, user.UserId, ticket: "SUP-OLD"); // under "old"

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(oldClient, user.UserId, new { bypassCode = "000-000-000" }),
            HttpStatusCode.ServiceUnavailable, "secret_unavailable");
        var verified = await Flows.VerifyAsync(oldClient, user.UserId, new { bypassCode = readable });
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK), await verified.Content.ReadAsStringAsync());

        await using var connection = new Npgsql.NpgsqlConnection(db);
        await connection.OpenAsync();
        await using var audit = new Npgsql.NpgsqlCommand(
            "select details->>'method' from audit_events where user_id = @u and event_type = 'verification_error'", connection);
        audit.Parameters.AddWithValue("u", user.UserId);
        Assert.That(await audit.ExecuteScalarAsync(), Is.EqualTo("bypass_code"));
    }

    /// <summary>A live bypass code is hashed under the key active when it was issued and cannot be re-sealed: dropping that key
    /// after `rotate-keys` used to start the service, and every bypass code of that user was then a 503 until the old one
    /// expired (up to 3 days).</summary>
    [Test]
    public async Task A_key_a_live_bypass_code_is_hashed_under_cannot_be_dropped()
    {
        var db = TestDatabase.CreateDatabase("rotation_bypass");
        using (var app = new AuthApp(Keys("old", ("old", OldKey)), db))
        using (var client = app.AdminClient())
        {
            var user = await Flows.EnableTotpAsync(app, client);
            await AuthService.Tests.Support.BypassCodeTests.IssueAsync(client, user.UserId);
        }

        await using (var rotate = ServiceProcess.Start(Environment(db, Keys("new", ("old", OldKey), ("new", NewKey))), ["rotate-keys"]))
        {
            Assert.That(await rotate.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, rotate.Output);
        }

        // The test app's clock is in the past; the check counts codes live by the database's clock, as the report does.
        await using (var connection = new Npgsql.NpgsqlConnection(db))
        {
            await connection.OpenAsync();
            await using var live = new Npgsql.NpgsqlCommand("update bypass_codes set expires_at = now() + interval '1 day'", connection);
            Assert.That(await live.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }

        await using var service = ServiceProcess.Start(Environment(db, Keys("new", ("new", NewKey))));
        Assert.That(await service.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Not.Zero);
        var lines = service.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), service.Output);
        Assert.That(lines[0], Does.StartWith("AuthService cannot start: Encryption key 'old' is missing from Encryption:Keys, and 1 live bypass codes"));
    }
}
