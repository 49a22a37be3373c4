using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Tests.Infrastructure;
using Npgsql;
using OtpNet;

namespace AuthService.Tests.Security;

/// <summary>A stolen database must not yield a TOTP secret, a backup code or an API key: dump the whole database
/// with pg_dump after real enrollments and look for every secret in every encoding the API handed out.</summary>
public class DataAtRestTests
{
    [Test]
    public async Task Database_dump_holds_no_secret_in_clear()
    {
        var connectionString = TestDatabase.CreateDatabase("dump");
        using var app = new AuthApp(connectionString: connectionString);
        using var admin = app.AdminClient();

        var created = await (await admin.PostAsJsonAsync("/v1/api-keys", new { name = "portal", scopes = new[] { "verify" } }))
            .Content.ReadFromJsonAsync<JsonElement>();
        var apiKey = created.GetProperty("key").GetString()!;
        var enabled = await Flows.EnableTotpAsync(app, admin);
        var (pendingSecret, _) = await Flows.EnrollTotpAsync(admin, AuthApp.NewUserId());

        var dump = await PgDump.DumpAsync(connectionString);
        Assert.That(dump, Does.Contain(enabled.UserId), "the dump must contain the data it is checked for");

        // The bootstrap key is the operator's value, checked only for length: not even its first characters are kept.
        var forbidden = new List<string> { apiKey, AuthApp.AdminKey[..12] };
        foreach (var secret in new[] { enabled.Secret, pendingSecret })
        {
            forbidden.Add(Base32Encoding.ToString(secret).TrimEnd('='));
            forbidden.Add(Convert.ToHexString(secret).ToLowerInvariant());
            forbidden.Add(Convert.ToBase64String(secret));
        }

        foreach (var code in enabled.BackupCodes)
        {
            forbidden.Add(code);
            forbidden.Add(code.Replace("-", ""));
            forbidden.Add(Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(code.Replace("-", ""))).ToLowerInvariant());
        }

        Assert.Multiple(() =>
        {
            foreach (var value in forbidden)
            {
                Assert.That(dump.Contains(value, StringComparison.OrdinalIgnoreCase), Is.False, $"found {value[..4]}… in the dump");
            }
        });
    }
}
