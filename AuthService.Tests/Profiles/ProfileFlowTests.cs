using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AuthService.Tests.Webhooks;
using Dapper;

namespace AuthService.Tests.Profiles;

/// <summary>Verify profiles end to end (DESIGN §9.5): two API keys under two profiles send two brands, two code lengths and
/// two validities through the Telnyx stand-in; the locale comes from the request, else the number's country, else the
/// profile's default; a profile's own country list; the TOTP issuer, digits and period of new enrollments.</summary>
public class ProfileFlowTests : AppFixture
{
    private static int _sequence;

    protected override bool SendsCodes => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Profiles:default:Brand"] = "Globex",
        ["Profiles:acme:Brand"] = "Acme",
        ["Profiles:acme:Length"] = "8",
        ["Profiles:acme:ValidityMinutes"] = "5",
        ["Profiles:acme:DefaultLocale"] = "de",
        ["Profiles:acme:CountryLocales:FR"] = "fr",
        ["Profiles:acme:Domain"] = "portal.acme.example",
        ["Profiles:acme:AllowedCountries:Sms"] = "US,FR,CH",
        ["Profiles:acme:TotpDigits"] = "8",
        ["Profiles:acme:TotpPeriod"] = "60",
    };

    [SetUp]
    public void Healthy() => Telnyx.Succeed();

    private static string UsPhone() => $"+1720555{Interlocked.Increment(ref _sequence) % 10000:D4}";

    private static string FrPhone() => $"+3361234{Interlocked.Increment(ref _sequence) % 10000:D4}";

    private static string ChPhone() => $"+4178123{Interlocked.Increment(ref _sequence) % 10000:D4}";

    private async Task<HttpClient> KeyAsync(string? profile)
    {
        var created = await Client.PostAsJsonAsync("/v1/api-keys", new { name = "profile " + profile, scopes = new[] { "manage", "verify" }, profile });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        Assert.That(body.GetProperty("profile").GetString(), Is.EqualTo((profile ?? "default").ToLowerInvariant()));
        return App.ClientWithKey(body.GetProperty("key").GetString());
    }

    private string LastSms(string phone) =>
        JsonDocument.Parse(Telnyx.DeliveriesTo(phone)[^1].Body).RootElement.GetProperty("text").GetString()!;

    private static string FirstCode(string text) => Regex.Match(text, @"(?<![0-9])[0-9]{6,8}(?![0-9])").Value;

    [Test]
    public async Task Two_keys_send_two_brands_two_code_lengths_and_two_validities()
    {
        using var acme = await KeyAsync("acme");
        using var globex = await KeyAsync(null);
        var (ann, bob) = (AuthApp.NewUserId("acme"), AuthApp.NewUserId("globex"));
        var (annPhone, bobPhone) = (UsPhone(), UsPhone());

        var annStarted = await acme.PostAsJsonAsync($"/v1/users/{ann}/two-factor/enroll", new { method = "phone", phoneNumber = annPhone, channel = "sms" });
        var bobStarted = await globex.PostAsJsonAsync($"/v1/users/{bob}/two-factor/enroll", new { method = "phone", phoneNumber = bobPhone, channel = "sms" });
        Assert.That(annStarted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await annStarted.Content.ReadAsStringAsync());
        Assert.That(bobStarted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await bobStarted.Content.ReadAsStringAsync());

        Assert.That((await annStarted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddMinutes(5)));
        Assert.That((await bobStarted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddMinutes(10)));
        var annPending = (await acme.GetFromJsonAsync<JsonElement>($"/v1/users/{ann}/two-factor")).GetProperty("pending");
        Assert.That(annPending.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddMinutes(5)), "the pending enrollment lives as long as its code");
        var annText = LastSms(annPhone);
        var annCode = FirstCode(annText);
        Assert.That(annCode, Has.Length.EqualTo(8));
        Assert.That(annText, Is.EqualTo($"Your Acme verification code is {annCode}. It expires in 5 minutes.\n\n@portal.acme.example #{annCode}"));
        var bobCode = FirstCode(LastSms(bobPhone));
        Assert.That(LastSms(bobPhone), Is.EqualTo($"Your Globex verification code is {bobCode}. It expires in 10 minutes."));

        var annConfirmed = await acme.PostAsJsonAsync($"/v1/users/{ann}/two-factor/enroll/confirm", new { code = annCode });
        var bobConfirmed = await globex.PostAsJsonAsync($"/v1/users/{bob}/two-factor/enroll/confirm", new { code = bobCode });
        Assert.That(annConfirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await annConfirmed.Content.ReadAsStringAsync());
        Assert.That(bobConfirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await bobConfirmed.Content.ReadAsStringAsync());

        // The profile used is in the audit trail (and so in the webhook events, VerifyProfilesTests).
        var events = await Client.GetFromJsonAsync<JsonElement>($"/v1/users/{ann}/two-factor/events?limit=10");
        var profiles = events.GetProperty("items").EnumerateArray()
            .ToDictionary(e => e.GetProperty("type").GetString()!, e => e.GetProperty("details").TryGetProperty("profile", out var p) ? p.GetString() : null);
        Assert.That(profiles["code_sent"], Is.EqualTo("acme"));
        Assert.That(profiles["enrollment_confirmed"], Is.EqualTo("acme"));

        // The 8-digit login code expires after the profile's 5 minutes, not the default 10.
        var challenge = await acme.PostAsJsonAsync($"/v1/users/{ann}/two-factor/challenge", new { channel = "sms" });
        var body = await challenge.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
        Assert.That(body.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(Now.AddMinutes(5)));
        var loginCode = FirstCode(LastSms(annPhone));
        App.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var late = await acme.PostAsJsonAsync($"/v1/users/{ann}/two-factor/verify", new { code = loginCode });
        await ProblemAssert.IsProblemAsync(late, HttpStatusCode.UnprocessableEntity, "invalid_code");
    }

    /// <summary>A switch to a phone and a phone addition send a code as an enrollment does, so they take its <c>locale</c> too
    /// (it used to be an unknown field there, 400).</summary>
    [Test]
    public async Task A_switch_and_an_addition_take_the_locale_an_enrollment_takes()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        var (switchPhone, addedPhone) = (UsPhone(), UsPhone());
        var switched = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/switch-method",
            new { method = "phone", phoneNumber = switchPhone, channel = "sms", locale = "ja", proof = new { code = Flows.Code(user.Secret, Now) } });
        Assert.That(switched.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await switched.Content.ReadAsStringAsync());
        Assert.That(LastSms(switchPhone), Does.StartWith("Globex の確認コードは "));

        App.Time.Advance(TimeSpan.FromSeconds(30));
        var added = await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/factors",
            new { method = "phone", phoneNumber = addedPhone, channel = "sms", locale = "fr-CA", proof = new { code = Flows.Code(user.Secret, Now) } });
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await added.Content.ReadAsStringAsync());
        Assert.That(LastSms(addedPhone), Does.Contain(" est votre code de vérification Globex."));

        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync($"/v1/users/{user.UserId}/two-factor/factors",
                new { method = "phone", phoneNumber = UsPhone(), channel = "sms", locale = "tlh", proof = new { code = "000000" } }),
            HttpStatusCode.BadRequest, "unknown_locale");
    }

    [Test]
    public async Task The_locale_is_the_one_asked_for_else_the_countrys_else_the_profiles_default()
    {
        using var acme = await KeyAsync("acme");
        var user = AuthApp.NewUserId("fr");
        var phone = FrPhone();

        var enrolled = await acme.PostAsJsonAsync($"/v1/users/{user}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" });
        Assert.That(enrolled.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await enrolled.Content.ReadAsStringAsync());
        Assert.That(LastSms(phone), Does.Contain(" est votre code de vérification Acme."), "FR → fr by the profile's country map");
        var code = FirstCode(LastSms(phone));
        Assert.That((await acme.PostAsJsonAsync($"/v1/users/{user}/two-factor/enroll/confirm", new { code })).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var asked = await acme.PostAsJsonAsync($"/v1/users/{user}/two-factor/challenge", new { channel = "sms", locale = "ja-JP" });
        Assert.That(asked.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await asked.Content.ReadAsStringAsync());
        Assert.That(LastSms(phone), Does.StartWith("Acme の確認コードは "));

        var call = await acme.PostAsJsonAsync($"/v1/users/{user}/two-factor/challenge", new { channel = "call", locale = "ru" });
        Assert.That(call.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await call.Content.ReadAsStringAsync());
        var texml = JsonDocument.Parse(Telnyx.DeliveriesTo(phone)[^1].Body).RootElement.GetProperty("Texml").GetString()!;
        var says = XDocument.Parse(texml).Root!.Elements("Say").ToList();
        Assert.That(says.Select(s => s.Attribute("language")!.Value), Has.All.EqualTo("ru-RU"));
        Assert.That(says[0].Value, Does.StartWith("Код подтверждения Acme: "));
        Assert.That(Regex.Matches(says[0].Value, "[0-9]"), Has.Count.EqualTo(8));

        var us = UsPhone();
        var other = AuthApp.NewUserId("us");
        Assert.That((await acme.PostAsJsonAsync($"/v1/users/{other}/two-factor/enroll", new { method = "phone", phoneNumber = us, channel = "sms" })).StatusCode,
            Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(LastSms(us), Does.StartWith("Your Acme verification code is "), "US → en by the built-in map, over the profile's default");

        var swiss = ChPhone();
        Assert.That((await acme.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId("ch")}/two-factor/enroll", new { method = "phone", phoneNumber = swiss, channel = "sms" })).StatusCode,
            Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(LastSms(swiss), Does.Contain(" ist Ihr Acme-Bestätigungscode."), "CH is not mapped (four languages): the profile's default, de");
    }

    [Test]
    public async Task An_unknown_locale_is_refused_before_anything_is_sent()
    {
        var phone = UsPhone();
        var response = await Client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/enroll",
            new { method = "phone", phoneNumber = phone, channel = "sms", locale = "tlh" });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "unknown_locale");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("zh-Hans"));
        Assert.That(Telnyx.DeliveriesTo(phone), Is.Empty);
    }

    [Test]
    public async Task A_profile_reaches_only_its_own_countries()
    {
        using var acme = await KeyAsync("acme");
        const string german = "+4915123456789";

        var refused = await acme.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/enroll", new { method = "phone", phoneNumber = german, channel = "sms" });
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, "destination_not_allowed");
        Assert.That(Telnyx.DeliveriesTo(german), Is.Empty);

        var byDefault = await Client.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/enroll", new { method = "phone", phoneNumber = german, channel = "sms" });
        Assert.That(byDefault.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await byDefault.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_new_totp_enrollment_takes_the_profiles_issuer_digits_and_period()
    {
        using var acme = await KeyAsync("acme");
        var response = await acme.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId()}/two-factor/enroll", new { method = "totp", accountName = "ann@example.com" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());

        var uri = body.GetProperty("otpauthUri").GetString()!;
        Assert.That(uri, Does.StartWith("otpauth://totp/Acme:ann%40example.com?"));
        Assert.That(uri, Does.Contain("digits=8").And.Contain("period=60").And.Contain("issuer=Acme"));
    }

    /// <summary>A TOTP login goes through the coalesced batch (<c>TwoFactor/ProofCheck</c>), whose workers serve many requests
    /// at once: each login's success, failure and new-device events, and the webhook event, carry the profile of its own
    /// request, as every other path's do. Logins under two keys run at once, so batches mix them.</summary>
    [Test]
    public async Task Batched_totp_logins_stamp_each_event_with_the_profile_of_its_own_request()
    {
        using var acme = await KeyAsync("acme");
        using var globex = await KeyAsync(null);
        var endpoint = await WebhookTesting.CreateEndpointAsync(Client, Telnyx.Server.Url + "/hooks", "two_factor.new_device_login");
        try
        {
            var users = new List<(Flows.EnabledTotpUser User, HttpClient Key, string Profile)>();
            for (var i = 0; i < 8; i++)
            {
                users.Add((await Flows.EnableTotpAsync(App, Client), i % 2 == 0 ? acme : globex, i % 2 == 0 ? "acme" : "default"));
            }

            App.Time.Advance(TimeSpan.FromSeconds(30));
            var logins = users.SelectMany(u =>
            {
                var code = Flows.Code(u.User.Secret, Now);
                var window = new[] { -30, 0, 30 }.Select(s => Flows.Code(u.User.Secret, Now.AddSeconds(s))).ToHashSet();
                var wrong = Enumerable.Range(1, 9).Select(d => code[..^1] + (char)('0' + (code[^1] - '0' + d) % 10)).First(c => !window.Contains(c));
                return new[]
                {
                    Flows.VerifyAsync(u.Key, u.User.UserId, new { code }),
                    Flows.VerifyAsync(u.Key, u.User.UserId, new { code = wrong }),
                };
            });
            var answers = await Task.WhenAll(logins);
            Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.OK), Is.EqualTo(users.Count));
            Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.UnprocessableEntity), Is.EqualTo(users.Count));

            await using var connection = await OpenAsync();
            foreach (var (user, _, profile) in users)
            {
                var stamped = (await connection.QueryAsync<(string Type, string? Profile)>("""
                    select event_type, details->>'profile' from audit_events
                    where user_id = @userId and event_type in ('verification_succeeded', 'verification_failed', 'new_device_login')
                    order by event_type
                    """, new { userId = user.UserId })).ToList();
                Assert.That(stamped, Is.EqualTo(new[] { ("new_device_login", profile), ("verification_failed", profile), ("verification_succeeded", profile) }),
                    user.UserId);
                var hook = await connection.QuerySingleAsync<string>(
                    "select body from webhook_events where user_id = @userId and type = 'two_factor.new_device_login'", new { userId = user.UserId });
                Assert.That(JsonDocument.Parse(hook).RootElement.GetProperty("data").GetProperty("profile").GetString(), Is.EqualTo(profile), user.UserId);
            }
        }
        finally
        {
            await WebhookTesting.DeleteEndpointsAsync(App.ConnectionString, endpoint.Id);
        }
    }

    [Test]
    public async Task A_key_names_a_configured_profile_or_none()
    {
        var unknown = await Client.PostAsJsonAsync("/v1/api-keys", new { name = "x", scopes = new[] { "verify" }, profile = "initech" });
        var problem = await ProblemAssert.IsProblemAsync(unknown, HttpStatusCode.BadRequest, "unknown_profile");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("acme").And.Contain("default"));

        using var _ = await KeyAsync("ACME");
        var list = await Client.GetFromJsonAsync<JsonElement>("/v1/api-keys");
        Assert.That(list.GetProperty("items").EnumerateArray().Select(k => k.GetProperty("profile").GetString()), Does.Contain("acme").And.Contain("default"));
    }

    [Test]
    public async Task An_unknown_outcome_names_the_validity_of_the_profile_the_code_was_sent_under()
    {
        using var acme = await KeyAsync("acme");
        Telnyx.Fail(500);

        var enroll = await acme.PostAsJsonAsync($"/v1/users/{AuthApp.NewUserId("acme")}/two-factor/enroll",
            new { method = "phone", phoneNumber = UsPhone(), channel = "sms" });

        var problem = await ProblemAssert.IsProblemAsync(enroll, HttpStatusCode.BadGateway, "telephony_outcome_unknown");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("within 5 minutes"), "acme's codes live 5 minutes, not 10");
    }
}
