using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using AuthService.Tests.TwoFactor;
using OtpNet;

namespace AuthService.Tests.Factors;

/// <summary>DESIGN §9.2: several named factors per user — added with a proof, confirmed, renamed, made default, removed with a
/// proof from another factor — with limits and lockout per user across all of them, on the real database.</summary>
public class SeveralFactorsTests : AppFixture
{
    protected override bool SendsCodes => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Factors:MaxTotp"] = "3",
        ["Factors:MaxPhone"] = "2",
    };

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    private static string Url(string userId, string rest = "") => $"/v1/users/{userId}/two-factor{rest}";

    private async Task<JsonElement> StatusAsync(string userId) => await Client.GetFromJsonAsync<JsonElement>(Url(userId));

    private static List<JsonElement> FactorsOf(JsonElement status) => status.GetProperty("factors").EnumerateArray().ToList();

    private async Task<(Guid FactorId, byte[] Secret)> StartTotpAsync(string userId, object? proof, string? label = null, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var response = await Client.PostAsJsonAsync(Url(userId, "/factors"), new { method = "totp", label, proof });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(expected), body.ToString());
        return (body.GetProperty("factorId").GetGuid(), Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!));
    }

    private Task<HttpResponseMessage> ConfirmAsync(string userId, Guid factorId, string code) =>
        Client.PostAsJsonAsync(Url(userId, $"/factors/{factorId}/confirm"), new { code });

    /// <summary>A TOTP user with a second TOTP factor (labelled), both confirmed; the clock one period on.</summary>
    private async Task<(Flows.EnabledTotpUser User, Guid First, Guid Second, byte[] SecondSecret)> TwoTotpAsync()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var first = FactorsOf(await StatusAsync(user.UserId)).Single().GetProperty("id").GetGuid();
        var (second, secret) = await StartTotpAsync(user.UserId, new { code = Flows.Code(user.Secret, Now) }, "Tablet");
        var confirmed = await ConfirmAsync(user.UserId, second, Flows.Code(secret, Now));
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
        App.Time.Advance(TimeSpan.FromSeconds(30));
        return (user, first, second, secret);
    }

    private Task<HttpResponseMessage> RemoveAsync(string userId, Guid factorId, object proof) =>
        Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url(userId, $"/factors/{factorId}")) { Content = JsonContent.Create(new { proof }) });

    private async Task<List<JsonElement>> EventsAsync(string userId)
    {
        var page = await Client.GetFromJsonAsync<JsonElement>(Url(userId, "/events?limit=200"));
        return page.GetProperty("items").EnumerateArray().ToList();
    }

    [Test]
    public async Task Status_lists_the_factor_of_an_enrollment_as_the_default()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var factor = FactorsOf(await StatusAsync(user.UserId)).Single();
        Assert.That(factor.GetProperty("method").GetString(), Is.EqualTo("totp"));
        Assert.That(factor.GetProperty("label").GetString(), Is.EqualTo("Authenticator app"));
        Assert.That(factor.GetProperty("default").GetBoolean(), Is.True);
        Assert.That(factor.GetProperty("lastUsedAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public async Task A_second_totp_factor_is_added_with_a_proof_and_each_answers_for_itself()
    {
        var (user, first, second, secret) = await TwoTotpAsync();
        var status = await StatusAsync(user.UserId);
        Assert.That(FactorsOf(status).Select(f => f.GetProperty("id").GetGuid()), Is.EquivalentTo(new[] { first, second }));
        Assert.That(FactorsOf(status).Single(f => f.GetProperty("id").GetGuid() == second).GetProperty("label").GetString(), Is.EqualTo("Tablet"));
        Assert.That(status.GetProperty("method").GetString(), Is.EqualTo("totp"));

        // The same time step from each factor: each is accepted once, by its own replay guard, and names its factor.
        var fromSecond = await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(secret, Now) });
        var body = await fromSecond.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(fromSecond.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.That(body.GetProperty("factorId").GetGuid(), Is.EqualTo(second));
        var fromFirst = await (await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(fromFirst.GetProperty("factorId").GetGuid(), Is.EqualTo(first), fromFirst.ToString());
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(secret, Now) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");

        var used = FactorsOf(await StatusAsync(user.UserId)).Single(f => f.GetProperty("id").GetGuid() == second);
        Assert.That(used.GetProperty("lastUsedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
        var added = (await EventsAsync(user.UserId)).Single(e => e.GetProperty("type").GetString() == "factor_added");
        Assert.That(added.GetProperty("details").GetProperty("factorId").GetGuid(), Is.EqualTo(second));
    }

    [Test]
    public async Task An_addition_needs_a_right_proof_once_2fa_is_enabled()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/factors"), new { method = "totp" }),
            HttpStatusCode.BadRequest, "validation_failed");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/factors"), new { method = "totp", proof = new { code = "000000" } }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(
            await Client.PostAsJsonAsync(Url(user.UserId, "/factors"), new { method = "totp", label = new string('x', 65), proof = new { code = "000000" } }),
            HttpStatusCode.BadRequest, "validation_failed");
        foreach (var label in new[] { "a\u0007b", "\u200B", " \u200B\uFEFF ", "evil\u202Egnp.exe", "two\u2028lines", "iso\u2067late" })
        {
            await ProblemAssert.IsProblemAsync(
                await Client.PostAsJsonAsync(Url(user.UserId, "/factors"), new { method = "totp", label, proof = new { code = "000000" } }),
                HttpStatusCode.BadRequest, "validation_failed");
        }

        Assert.That(FactorsOf(await StatusAsync(user.UserId)), Has.Count.EqualTo(1));
    }

    /// <summary>A label is stored as PATCH stores it, without the white space around it, whichever route brought it.</summary>
    [Test]
    public async Task An_added_factors_label_is_stored_trimmed_as_a_rename_stores_it()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var (second, secret) = await StartTotpAsync(user.UserId, new { code = Flows.Code(user.Secret, Now) }, "  Tablet \u00A0");
        var confirmed = await ConfirmAsync(user.UserId, second, Flows.Code(secret, Now));
        Assert.That((await confirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("factor").GetProperty("label").GetString(), Is.EqualTo("Tablet"));
        Assert.That(FactorsOf(await StatusAsync(user.UserId)).Single(f => f.GetProperty("id").GetGuid() == second).GetProperty("label").GetString(),
            Is.EqualTo("Tablet"));
    }

    [Test]
    public async Task Without_2fa_an_addition_is_the_first_enrollment_and_shows_the_backup_codes()
    {
        var userId = AuthApp.NewUserId();
        var (factorId, secret) = await StartTotpAsync(userId, null, "Phone app");
        var confirmed = await ConfirmAsync(userId, factorId, Flows.Code(secret, Now));
        var body = await confirmed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.That(body.GetProperty("backupCodes").GetArrayLength(), Is.EqualTo(10));
        Assert.That(body.GetProperty("factor").GetProperty("id").GetGuid(), Is.EqualTo(factorId));
        Assert.That(body.GetProperty("factor").GetProperty("default").GetBoolean(), Is.True);
        Assert.That((await StatusAsync(userId)).GetProperty("enabled").GetBoolean(), Is.True);
    }

    [Test]
    public async Task The_maximum_of_a_method_is_refused_at_start()
    {
        var (user, _, _, _) = await TwoTotpAsync();
        var (third, secret) = await StartTotpAsync(user.UserId, new { backupCode = user.BackupCodes[0] });
        (await ConfirmAsync(user.UserId, third, Flows.Code(secret, Now))).EnsureSuccessStatusCode();
        await ProblemAssert.IsProblemAsync(
            await Client.PostAsJsonAsync(Url(user.UserId, "/factors"), new { method = "totp", proof = new { backupCode = user.BackupCodes[1] } }),
            HttpStatusCode.Conflict, "factor_limit_reached");
        Assert.That(FactorsOf(await StatusAsync(user.UserId)), Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Two_additions_confirmed_at_once_at_the_limit_store_exactly_one()
    {
        for (var round = 0; round < 3; round++)
        {
            var (user, _, _, _) = await TwoTotpAsync(); // 2 of 3
            var a = await StartTotpAsync(user.UserId, new { backupCode = user.BackupCodes[0] });
            var b = await StartTotpAsync(user.UserId, new { backupCode = user.BackupCodes[1] });
            var answers = await Race.RunAsync(2, i =>
            {
                var (id, secret) = i == 0 ? a : b;
                return ConfirmAsync(user.UserId, id, Flows.Code(secret, Now));
            });
            Assert.That(answers.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(1), $"round {round}");
            await ProblemAssert.IsProblemAsync(answers.Single(r => r.StatusCode != HttpStatusCode.OK), HttpStatusCode.Conflict, "factor_limit_reached");
            Assert.That(FactorsOf(await StatusAsync(user.UserId)), Has.Count.EqualTo(3));
        }
    }

    [Test]
    public async Task A_factor_is_renamed_and_made_the_default()
    {
        var (user, first, second, _) = await TwoTotpAsync();
        var patched = await Client.PatchAsJsonAsync(Url(user.UserId, $"/factors/{second}"), new { label = "Old tablet", @default = true });
        var body = await patched.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(patched.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.That(body.GetProperty("label").GetString(), Is.EqualTo("Old tablet"));
        var factors = FactorsOf(await StatusAsync(user.UserId));
        Assert.That(factors.Single(f => f.GetProperty("default").GetBoolean()).GetProperty("id").GetGuid(), Is.EqualTo(second));
        Assert.That(factors.Single(f => f.GetProperty("id").GetGuid() == first).GetProperty("default").GetBoolean(), Is.False);

        await ProblemAssert.IsProblemAsync(await Client.PatchAsJsonAsync(Url(user.UserId, $"/factors/{Guid.NewGuid()}"), new { label = "x" }),
            HttpStatusCode.NotFound, "factor_not_found");
        await ProblemAssert.IsProblemAsync(await Client.PatchAsJsonAsync(Url(user.UserId, $"/factors/{first}"), new { @default = false }),
            HttpStatusCode.BadRequest, "validation_failed");
        await ProblemAssert.IsProblemAsync(await Client.PatchAsJsonAsync(Url(user.UserId, $"/factors/{first}"), new { label = "\n" }),
            HttpStatusCode.BadRequest, "validation_failed");
        await ProblemAssert.IsProblemAsync(await Client.PatchAsJsonAsync(Url(AuthApp.NewUserId(), $"/factors/{first}"), new { label = "x" }),
            HttpStatusCode.Conflict, "two_factor_not_enabled");
    }

    /// <summary>DESIGN §9.2: the last factor cannot be removed. Two removals of a two-factor user's factors at once, each proved
    /// by its own backup code on its own connection, are decided under the user's lock one after the other: exactly one goes,
    /// the other is 409 <c>last_factor</c> and keeps its backup code, and the user keeps a factor. Checked before the lock
    /// only, both would pass and leave the user with none.</summary>
    [Test]
    public async Task Two_removals_at_once_never_remove_the_last_factor()
    {
        var clients = Enumerable.Range(0, 2).Select(_ => App.AdminClient()).ToArray();
        for (var round = 0; round < 4; round++)
        {
            var (user, first, second, _) = await TwoTotpAsync();
            var targets = new[] { first, second };
            var answers = await Race.RunAsync(2, i => clients[i].SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url(user.UserId, $"/factors/{targets[i]}"))
            {
                Content = JsonContent.Create(new { proof = new { backupCode = user.BackupCodes[i] } }),
            }), i => clients[i].GetAsync(Url(user.UserId)));

            Assert.That(answers.Select(a => a.StatusCode), Is.EquivalentTo(new[] { HttpStatusCode.NoContent, HttpStatusCode.Conflict }), $"round {round}");
            await ProblemAssert.IsProblemAsync(answers.Single(a => a.StatusCode == HttpStatusCode.Conflict), HttpStatusCode.Conflict, "last_factor");
            Assert.That(FactorsOf(await StatusAsync(user.UserId)), Has.Count.EqualTo(1), $"round {round}: a factor is left");
            Assert.That((await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId, "/backup-codes"))).GetProperty("remaining").GetInt32(),
                Is.EqualTo(user.BackupCodes.Count - 1), "only the removal that went spent its code");
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    [Test]
    public async Task A_factor_is_removed_only_with_a_proof_of_another_and_never_the_last()
    {
        var (user, first, second, secret) = await TwoTotpAsync();
        await ProblemAssert.IsProblemAsync(await RemoveAsync(user.UserId, second, new { code = Flows.Code(secret, Now) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        App.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.That((await RemoveAsync(user.UserId, second, new { code = Flows.Code(user.Secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        Assert.That(FactorsOf(await StatusAsync(user.UserId)).Select(f => f.GetProperty("id").GetGuid()), Is.EqualTo(new[] { first }));
        App.Time.Advance(TimeSpan.FromSeconds(30));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(secret, Now) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await RemoveAsync(user.UserId, first, new { backupCode = user.BackupCodes[0] }), HttpStatusCode.Conflict, "last_factor");
        await ProblemAssert.IsProblemAsync(await RemoveAsync(user.UserId, Guid.NewGuid(), new { backupCode = user.BackupCodes[0] }),
            HttpStatusCode.NotFound, "factor_not_found");
        var removed = (await EventsAsync(user.UserId)).Single(e => e.GetProperty("type").GetString() == "factor_removed");
        Assert.That(removed.GetProperty("details").GetProperty("factorId").GetGuid(), Is.EqualTo(second));
    }

    [Test]
    public async Task Removing_the_default_makes_the_oldest_remaining_factor_the_default()
    {
        var (user, first, second, secret) = await TwoTotpAsync();
        Assert.That((await RemoveAsync(user.UserId, first, new { code = Flows.Code(secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var only = FactorsOf(await StatusAsync(user.UserId)).Single();
        Assert.That(only.GetProperty("id").GetGuid(), Is.EqualTo(second));
        Assert.That(only.GetProperty("default").GetBoolean(), Is.True);
    }

    /// <summary>With two factors left the choice matters: the oldest, not the newest or any other, becomes the default.</summary>
    [Test]
    public async Task Of_several_remaining_factors_the_oldest_becomes_the_default()
    {
        var (user, first, second, secondSecret) = await TwoTotpAsync();
        var (third, thirdSecret) = await StartTotpAsync(user.UserId, new { code = Flows.Code(secondSecret, Now) }, "Laptop");
        var confirmed = await ConfirmAsync(user.UserId, third, Flows.Code(thirdSecret, Now));
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
        (await Client.PatchAsJsonAsync(Url(user.UserId, $"/factors/{third}"), new { @default = true })).EnsureSuccessStatusCode();
        App.Time.Advance(TimeSpan.FromSeconds(30));

        Assert.That((await RemoveAsync(user.UserId, third, new { code = Flows.Code(secondSecret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var factors = FactorsOf(await StatusAsync(user.UserId));
        Assert.That(factors.Single(f => f.GetProperty("default").GetBoolean()).GetProperty("id").GetGuid(), Is.EqualTo(first), "the oldest");
        Assert.That(factors.Select(f => f.GetProperty("id").GetGuid()), Is.EquivalentTo(new[] { first, second }));
    }

    [Test]
    public async Task A_burst_spread_over_two_totp_factors_gets_at_most_the_per_minute_evaluations()
    {
        var (user, _, _, secret) = await TwoTotpAsync();
        var answers = await Race.RunAsync(8, i => Flows.VerifyAsync(Client, user.UserId, new { code = i % 2 == 0 ? "111111" : "222222" }));
        Assert.That(answers.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(5));
        Assert.That(answers.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(3));
        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(secret, Now) }),
            HttpStatusCode.TooManyRequests, "too_many_attempts");
    }

    [Test]
    public async Task A_removal_racing_a_login_with_that_factor_never_accepts_it_after_the_removal()
    {
        for (var round = 0; round < 5; round++)
        {
            var (user, first, second, secret) = await TwoTotpAsync();
            var answers = await Race.RunAsync(2, i => i == 0
                ? RemoveAsync(user.UserId, second, new { backupCode = user.BackupCodes[0] })
                : Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(secret, Now) }));
            Assert.That(answers[0].StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await answers[0].Content.ReadAsStringAsync());
            var events = (await EventsAsync(user.UserId)).Select(e => e.GetProperty("type").GetString()).ToList(); // newest first
            var removedAt = events.IndexOf("factor_removed");
            if (answers[1].StatusCode == HttpStatusCode.OK)
            {
                Assert.That(events.IndexOf("verification_succeeded"), Is.GreaterThan(removedAt), $"round {round}: accepted before the removal only");
            }
            else
            {
                await ProblemAssert.IsProblemAsync(answers[1], HttpStatusCode.UnprocessableEntity, "invalid_code");
            }

            App.Time.Advance(TimeSpan.FromSeconds(30));
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(secret, Now) }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
            Assert.That(FactorsOf(await StatusAsync(user.UserId)).Single().GetProperty("id").GetGuid(), Is.EqualTo(first));
        }
    }

    [Test]
    public async Task A_switch_replaces_every_factor_with_the_confirmed_one()
    {
        var (user, _, _, secret) = await TwoTotpAsync();
        var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { code = Flows.Code(secret, Now) } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var fresh = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        (await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(fresh, Now) })).EnsureSuccessStatusCode();

        var only = FactorsOf(await StatusAsync(user.UserId)).Single();
        Assert.That(only.GetProperty("id").GetGuid(), Is.EqualTo(body.GetProperty("factorId").GetGuid()));
        App.Time.Advance(TimeSpan.FromSeconds(30));
        foreach (var old in new[] { user.Secret, secret })
        {
            await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(old, Now) }),
                HttpStatusCode.UnprocessableEntity, "invalid_code");
        }
    }

    [Test]
    public async Task An_addition_started_with_a_stolen_factor_cannot_be_confirmed_after_the_user_removes_it()
    {
        var (user, first, stolen, stolenSecret) = await TwoTotpAsync();
        // The thief proves with the stolen factor and starts a factor of their own, but does not confirm it yet.
        var (thiefs, thiefSecret) = await StartTotpAsync(user.UserId, new { code = Flows.Code(stolenSecret, Now) }, "Thief");
        // A phone of theirs too (proved with a backup code): its pending row brings a code, which must go with it.
        var thiefPhone = PhoneFactorTests.NewPhone();
        var phoneStarted = await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "phone", phoneNumber = thiefPhone, channel = "sms", proof = new { backupCode = user.BackupCodes[0] } });
        var phoneBody = await phoneStarted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(phoneStarted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), phoneBody.ToString());
        Assert.That(await PendingRowsAsync(user.UserId), Is.EqualTo(3), "two pending additions and the phone one's code");
        Assert.That((await RemoveAsync(user.UserId, stolen, new { code = Flows.Code(user.Secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        await ProblemAssert.IsProblemAsync(await ConfirmAsync(user.UserId, thiefs, Flows.Code(thiefSecret, Now)), HttpStatusCode.NotFound, "factor_not_found");
        await ProblemAssert.IsProblemAsync(await ConfirmAsync(user.UserId, phoneBody.GetProperty("factorId").GetGuid(), Telnyx.LastCodeTo(thiefPhone)),
            HttpStatusCode.NotFound, "factor_not_found");
        Assert.That(FactorsOf(await StatusAsync(user.UserId)).Select(f => f.GetProperty("id").GetGuid()), Is.EqualTo(new[] { first }));
        Assert.That(await PendingRowsAsync(user.UserId), Is.Zero);
    }

    /// <summary>A leaked backup-code sheet: the thief starts an addition and a switch with its codes and waits. The person's
    /// answer is new backup codes, and what the old ones started dies with them (no factor is removed, so the removal's rule
    /// alone left both confirmable). An addition the person started with their TOTP app is theirs and survives.</summary>
    [Test]
    public async Task What_a_leaked_backup_code_started_cannot_be_confirmed_after_the_codes_are_regenerated()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var (thiefs, thiefSecret) = await StartTotpAsync(user.UserId, new { backupCode = user.BackupCodes[0] }, "Thief");
        var switched = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { backupCode = user.BackupCodes[1] } });
        var switchBody = await switched.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(switched.StatusCode, Is.EqualTo(HttpStatusCode.Created), switchBody.ToString());
        var (own, ownSecret) = await StartTotpAsync(user.UserId, new { code = Flows.Code(user.Secret, Now) }, "Tablet");

        App.Time.Advance(TimeSpan.FromSeconds(30));
        var regenerated = await Client.PostAsJsonAsync(Url(user.UserId, "/backup-codes"), new { proof = new { code = Flows.Code(user.Secret, Now) } });
        Assert.That(regenerated.StatusCode, Is.EqualTo(HttpStatusCode.Created), await regenerated.Content.ReadAsStringAsync());

        await ProblemAssert.IsProblemAsync(await ConfirmAsync(user.UserId, thiefs, Flows.Code(thiefSecret, Now)), HttpStatusCode.NotFound, "factor_not_found");
        var switchSecret = Base32Encoding.ToBytes(switchBody.GetProperty("secret").GetString()!);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(switchSecret, Now) }),
            HttpStatusCode.Conflict, "no_pending_switch");
        var confirmed = await ConfirmAsync(user.UserId, own, Flows.Code(ownSecret, Now));
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
        Assert.That(FactorsOf(await StatusAsync(user.UserId)).Select(f => f.GetProperty("id").GetGuid()), Has.Member(own).And.Not.Member(thiefs));

        var events = (await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId, "/events"))).GetProperty("items").EnumerateArray();
        var audited = events.First(e => e.GetProperty("type").GetString() == "backup_codes_regenerated");
        Assert.That(audited.GetProperty("details").GetProperty("voidedChanges").GetInt32(), Is.EqualTo(2));
    }

    /// <summary>A bypass code read to the wrong person: support revokes it, and the switch that person started with it (to a
    /// TOTP app of theirs) cannot be confirmed afterwards.</summary>
    [Test]
    public async Task A_switch_a_revoked_bypass_code_started_cannot_be_confirmed()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var bypass = await Support.BypassCodeTests.IssueAsync(Client, user.UserId);
        var switched = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { bypassCode = bypass } });
        var switchBody = await switched.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(switched.StatusCode, Is.EqualTo(HttpStatusCode.Created), switchBody.ToString());

        var revoked = await Client.DeleteFromJsonAsync<JsonElement>(Url(user.UserId, "/bypass-codes"));
        Assert.That(revoked.GetProperty("revoked").GetInt32(), Is.Zero, "its one use was spent on the switch");

        var switchSecret = Base32Encoding.ToBytes(switchBody.GetProperty("secret").GetString()!);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(switchSecret, Now) }),
            HttpStatusCode.Conflict, "no_pending_switch");
        App.Time.Advance(TimeSpan.FromSeconds(30));
        (await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) })).EnsureSuccessStatusCode();
        var events = (await Client.GetFromJsonAsync<JsonElement>(Url(user.UserId, "/events"))).GetProperty("items").EnumerateArray();
        Assert.That(events.First(e => e.GetProperty("type").GetString() == "bypass_codes_revoked").GetProperty("details").GetProperty("voidedChanges").GetInt32(),
            Is.EqualTo(1));
    }

    /// <summary>A switch proved with a factor that is then removed is gone with it: no longer shown as pending, and its
    /// confirmation finds nothing (it stayed, and every try spent its code on a 409 factor_changed until it expired).</summary>
    [Test]
    public async Task A_switch_proved_with_a_factor_that_is_then_removed_is_gone_with_it()
    {
        var (user, first, _, secret) = await TwoTotpAsync();
        var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { code = Flows.Code(user.Secret, Now) } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        Assert.That((await StatusAsync(user.UserId)).GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Object));

        Assert.That((await RemoveAsync(user.UserId, first, new { code = Flows.Code(secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        Assert.That((await StatusAsync(user.UserId)).GetProperty("pending").ValueKind, Is.EqualTo(JsonValueKind.Null));
        var fresh = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(fresh, Now) }),
            HttpStatusCode.Conflict, "no_pending_switch");
        Assert.That(await PendingRowsAsync(user.UserId), Is.Zero);
    }

    /// <summary>The person lost the phone with the default TOTP app: they start a switch with a backup code, then remove the
    /// lost factor with a proof from their second one. A backup code proves the user, not a factor, so the switch stands and
    /// is confirmed. It was bound to the default factor the code was checked beside, and the removal voided it: the backup
    /// code spent for nothing.</summary>
    [Test]
    public async Task A_switch_started_with_a_backup_code_survives_the_removal_of_the_default_factor()
    {
        var (user, first, _, secret) = await TwoTotpAsync();
        var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { backupCode = user.BackupCodes[0] } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());

        Assert.That((await RemoveAsync(user.UserId, first, new { code = Flows.Code(secret, Now) })).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        var fresh = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        var confirmed = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(fresh, Now) });
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
        Assert.That(FactorsOf(await StatusAsync(user.UserId)).Single().GetProperty("id").GetGuid(), Is.EqualTo(body.GetProperty("factorId").GetGuid()));
    }

    [Test]
    public async Task An_addition_pending_at_a_confirmed_switch_cannot_be_confirmed_after_it()
    {
        var (user, _, _, secret) = await TwoTotpAsync();
        var (pendingAddition, additionSecret) = await StartTotpAsync(user.UserId, new { code = Flows.Code(user.Secret, Now) }, "Thief");
        var started = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"), new { method = "totp", proof = new { code = Flows.Code(secret, Now) } });
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var fresh = Base32Encoding.ToBytes(body.GetProperty("secret").GetString()!);
        (await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Flows.Code(fresh, Now) })).EnsureSuccessStatusCode();

        await ProblemAssert.IsProblemAsync(await ConfirmAsync(user.UserId, pendingAddition, Flows.Code(additionSecret, Now)),
            HttpStatusCode.NotFound, "factor_not_found");
        Assert.That(FactorsOf(await StatusAsync(user.UserId)).Single().GetProperty("id").GetGuid(), Is.EqualTo(body.GetProperty("factorId").GetGuid()));
    }

    [Test]
    public async Task An_addition_survives_a_change_that_removes_no_factor()
    {
        // The rule is a removal's: renaming or making another factor the default leaves a pending addition confirmable.
        var (user, first, _, _) = await TwoTotpAsync();
        var (pendingAddition, additionSecret) = await StartTotpAsync(user.UserId, new { code = Flows.Code(user.Secret, Now) }, "Phone app");
        var renamed = await Client.PatchAsJsonAsync(Url(user.UserId, $"/factors/{first}"), new { label = "Old phone", @default = true });
        Assert.That(renamed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await renamed.Content.ReadAsStringAsync());
        var confirmed = await ConfirmAsync(user.UserId, pendingAddition, Flows.Code(additionSecret, Now));
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
    }

    /// <summary>A phone addition waits while a TOTP app is added: its code still confirms it (any start that was not a phone's
    /// used to delete every pending code).</summary>
    [Test]
    public async Task A_pending_phone_additions_code_survives_a_totp_addition_started_after_it()
    {
        var user = await Flows.EnablePhoneAsync(Client, Telnyx, "pending");
        async Task<string> ProofAsync()
        {
            (await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms", purpose = "proof" })).EnsureSuccessStatusCode();
            return Telnyx.LastCodeTo(user.Phone);
        }

        var phone = PhoneFactorTests.NewPhone();
        var added = await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { code = await ProofAsync() } });
        var body = await added.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
        var (totp, totpSecret) = await StartTotpAsync(user.UserId, new { code = await ProofAsync() }, "App");

        foreach (var (id, code) in new[] { (body.GetProperty("factorId").GetGuid(), Telnyx.LastCodeTo(phone)), (totp, Flows.Code(totpSecret, Now)) })
        {
            var confirmed = await ConfirmAsync(user.UserId, id, code);
            Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
        }

        Assert.That(FactorsOf(await StatusAsync(user.UserId)), Has.Count.EqualTo(3));
    }

    /// <summary>A switch to a phone waits while an addition starts: the switch's code still confirms it.</summary>
    [Test]
    public async Task A_pending_switchs_code_survives_an_addition_started_after_it()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var phone = PhoneFactorTests.NewPhone();
        var switched = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method"),
            new { method = "phone", phoneNumber = phone, channel = "sms", proof = new { code = Flows.Code(user.Secret, Now) } });
        Assert.That(switched.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await switched.Content.ReadAsStringAsync());
        App.Time.Advance(TimeSpan.FromSeconds(30));
        await StartTotpAsync(user.UserId, new { code = Flows.Code(user.Secret, Now) }, "Tablet");

        var confirmed = await Client.PostAsJsonAsync(Url(user.UserId, "/switch-method/confirm"), new { code = Telnyx.LastCodeTo(phone) });
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await confirmed.Content.ReadAsStringAsync());
    }

    private async Task<long> PendingRowsAsync(string userId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "select (select count(*) from pending_factors where user_id = $1) + (select count(*) from phone_codes where user_id = $1 and purpose = 'pending')",
            connection) { Parameters = { new() { Value = userId } } };
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A lost or SIM-swapped number is removed (issue 21): the removed phone's codes go with it, a login code already
    /// sent to it no longer logs in, and a proof code sent to it cannot prove its own removal.</summary>
    [Test]
    public async Task A_removed_phones_codes_go_with_it()
    {
        var user = await Flows.EnablePhoneAsync(Client, Telnyx, "lost");
        var lostId = FactorsOf(await StatusAsync(user.UserId)).Single().GetProperty("id").GetGuid();
        var deskPhone = PhoneFactorTests.NewPhone();
        (await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms", purpose = "proof" })).EnsureSuccessStatusCode();
        var added = await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "phone", phoneNumber = deskPhone, channel = "sms", proof = new { code = Telnyx.LastCodeTo(user.Phone) } });
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await added.Content.ReadAsStringAsync());
        var deskId = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("factorId").GetGuid();
        (await ConfirmAsync(user.UserId, deskId, Telnyx.LastCodeTo(deskPhone))).EnsureSuccessStatusCode();

        (await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms", factorId = lostId })).EnsureSuccessStatusCode();
        var loginCodeToLost = Telnyx.LastCodeTo(user.Phone);
        (await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms", purpose = "proof", factorId = lostId })).EnsureSuccessStatusCode();
        await ProblemAssert.IsProblemAsync(await RemoveAsync(user.UserId, lostId, new { code = Telnyx.LastCodeTo(user.Phone) }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");

        (await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms", purpose = "proof", factorId = deskId })).EnsureSuccessStatusCode();
        Assert.That((await RemoveAsync(user.UserId, lostId, new { code = Telnyx.LastCodeTo(deskPhone) })).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        await using (var connection = await OpenAsync())
        {
            await using var command = new Npgsql.NpgsqlCommand("select count(*) from phone_codes where user_id = @u and factor_id = @f", connection);
            command.Parameters.AddWithValue("u", user.UserId);
            command.Parameters.AddWithValue("f", lostId);
            Assert.That((long)(await command.ExecuteScalarAsync())!, Is.Zero, "no stored code names the removed phone");
        }

        await ProblemAssert.IsProblemAsync(await Flows.VerifyAsync(Client, user.UserId, new { code = loginCodeToLost }),
            HttpStatusCode.UnprocessableEntity, "invalid_code");
        Assert.That(FactorsOf(await StatusAsync(user.UserId)).Select(f => f.GetProperty("id").GetGuid()), Is.EqualTo(new[] { deskId }));
    }

    [Test]
    public async Task A_challenge_goes_to_the_phone_factor_it_names()
    {
        var user = await Flows.EnablePhoneAsync(Client, Telnyx, "multi");
        var secondPhone = PhoneFactorTests.NewPhone();
        (await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms", purpose = "proof" })).EnsureSuccessStatusCode();
        var added = await Client.PostAsJsonAsync(Url(user.UserId, "/factors"),
            new { method = "phone", phoneNumber = secondPhone, channel = "call", label = "Desk phone", proof = new { code = Telnyx.LastCodeTo(user.Phone) } });
        var body = await added.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
        var secondId = body.GetProperty("factorId").GetGuid();
        (await ConfirmAsync(user.UserId, secondId, Telnyx.LastCodeTo(secondPhone))).EnsureSuccessStatusCode();
        var desk = FactorsOf(await StatusAsync(user.UserId)).Single(f => f.GetProperty("id").GetGuid() == secondId);
        Assert.That(desk.GetProperty("channel").GetString(), Is.EqualTo("call"));

        var named = await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms", factorId = secondId });
        Assert.That(named.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await named.Content.ReadAsStringAsync());
        var verified = await (await Flows.VerifyAsync(Client, user.UserId, new { code = Telnyx.LastCodeTo(secondPhone) })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(verified.GetProperty("factorId").GetGuid(), Is.EqualTo(secondId), verified.ToString());

        var byDefault = await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms" });
        Assert.That(byDefault.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(Telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(3), "enrollment, proof, and the default factor's login code");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(Url(user.UserId, "/challenge"), new { channel = "sms", factorId = Guid.NewGuid() }),
            HttpStatusCode.NotFound, "factor_not_found");

        // An Idempotency-Key is bound to the factor (DESIGN §9.1): the same key for the other phone is another request, refused,
        // not the first answer replayed while nothing reaches the phone the user waits at.
        Task<HttpResponseMessage> KeyedAsync(Guid? factorId)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, Url(user.UserId, "/challenge"))
            {
                Content = JsonContent.Create(new { channel = "sms", factorId }),
            };
            request.Headers.Add("Idempotency-Key", "retry-" + user.UserId);
            return Client.SendAsync(request);
        }

        Assert.That((await KeyedAsync(null)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        var sentToDesk = Telnyx.DeliveriesTo(secondPhone).Count;
        await ProblemAssert.IsProblemAsync(await KeyedAsync(secondId), HttpStatusCode.UnprocessableEntity, "idempotency_key_reused");
        Assert.That(Telnyx.DeliveriesTo(secondPhone), Has.Count.EqualTo(sentToDesk));
        Assert.That((await KeyedAsync(null)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the same request replays");
        Assert.That(Telnyx.DeliveriesTo(user.Phone), Has.Count.EqualTo(4), "one send for the keyed request and its replay");
    }
}
