using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthService.Api.TwoFactor.Methods;
using AuthService.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.Factors;

/// <summary>A factor method is a type (issue 22): the registry holds one per method, in the order a code is tried, and is the
/// only thing that turns a method's name into behaviour — what it accepts, what it is limited to — on the running service.</summary>
public class FactorMethodRegistryTests : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Factors:MaxPasskey"] = "4" };

    private FactorMethodRegistry Registry => App.Services.GetRequiredService<FactorMethodRegistry>();

    [Test]
    public void The_three_methods_are_registered_in_the_order_a_code_is_tried()
    {
        Assert.That(Registry.All.Select(m => m.Name), Is.EqualTo(new[] { "totp", "phone", "passkey" }));
        Assert.That(Registry.All.Select(m => m.AcceptsCodes), Is.EqualTo(new[] { true, true, false }), "a passkey never proves with a code");
        Assert.That(Registry.All.Select(m => m.MaxPerUser), Is.EqualTo(new[] { 5, 3, 4 }), "each method reads its own Factors:Max*");
    }

    [Test]
    public async Task The_database_accepts_exactly_the_registered_methods()
    {
        await using var connection = await OpenAsync();
        var check = await connection.QuerySingleAsync<string>(
            "select string_agg(pg_get_constraintdef(oid), ' ') from pg_constraint where conrelid = 'factors'::regclass and contype = 'c'");
        foreach (var method in Registry.All)
        {
            Assert.That(check, Does.Contain($"'{method.Name}'"), $"the factors table refuses {method.Name}");
        }
    }

    [Test]
    public async Task An_unknown_method_is_refused_with_the_registered_names_and_nothing_is_stored()
    {
        var userId = Guid.NewGuid().ToString("N");
        var response = await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "fax" });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(problem.GetProperty("code").GetString(), Is.EqualTo("validation_failed"));
            Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo("method must be 'totp', 'phone', 'passkey'."));
        });
        await using var connection = await OpenAsync();
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from pending_factors where user_id = @userId", new { userId }), Is.Zero);
    }

    [Test]
    public void A_stored_method_this_build_does_not_know_fails_that_user_alone_as_unreadable() =>
        Assert.Throws<AuthService.Api.TwoFactor.UnreadableFactorException>(() => _ = Registry["email"]);
}
