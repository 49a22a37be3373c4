using System.Net;
using System.Net.Http.Json;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.Contract;

/// <summary>The bounds openapi.yaml states are the ones the service holds to, counted the same way: JSON Schema's
/// <c>maxLength</c> counts characters (code points), so an emoji outside the BMP is one character, not two UTF-16 units.</summary>
public class SchemaBoundsTests : AppFixture
{
    /// <summary>A code of 40 such emoji is within the schema's 64 characters: it is checked (and wrong), not refused as too long.
    /// The confirmation counted UTF-16 units and answered 400 for 80 of them.</summary>
    [Test]
    public async Task A_code_is_as_long_as_its_characters_as_the_schema_counts_them()
    {
        var userId = AuthApp.NewUserId("bounds");
        (await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "totp" })).EnsureSuccessStatusCode();
        var confirm = $"/v1/users/{userId}/two-factor/enroll/confirm";

        var emoji = string.Concat(Enumerable.Repeat("\U0001F511", 40)); // 40 characters, 80 UTF-16 units
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(confirm, new { code = emoji }), HttpStatusCode.UnprocessableEntity, "invalid_code");
        await ProblemAssert.IsProblemAsync(await Client.PostAsJsonAsync(confirm, new { code = new string('1', 65) }), HttpStatusCode.BadRequest,
            "validation_failed");
    }
}
