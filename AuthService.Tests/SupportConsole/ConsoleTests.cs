using System.Net;
using System.Text.RegularExpressions;
using AuthService.Tests.Infrastructure;

namespace AuthService.Tests.SupportConsole;

/// <summary>Issue 24 point 4: the support console is off unless <c>Console:Enabled=true</c>, served from the assembly with a strict
/// CSP, no inline script or style and no third-party code. The browser walk is the Chromium e2e (<c>make e2e-console</c>).</summary>
public class ConsoleTests
{
    private static readonly string[] Files = ["/console", "/console/console.js", "/console/console.css"];

    [Test]
    public async Task The_console_is_404_unless_enabled()
    {
        using var app = new AuthApp();
        using var client = app.Server.CreateClient();
        foreach (var file in Files)
        {
            Assert.That((await client.GetAsync(file)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), file);
        }
    }

    [Test]
    public async Task Enabled_it_serves_its_three_files_with_a_strict_csp_and_nothing_else()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Console:Enabled"] = "true" });
        using var client = app.Server.CreateClient();
        foreach (var (file, type) in Files.Zip(new[] { "text/html", "text/javascript", "text/css" }))
        {
            var response = await client.GetAsync(file);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), file);
            var csp = string.Join(",", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Multiple(() =>
            {
                Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo(type), file);
                Assert.That(csp, Does.Contain("default-src 'self'").And.Contain("frame-ancestors 'none'").And.Contain("script-src 'self'"));
                Assert.That(csp, Does.Not.Contain("unsafe-inline").And.Not.Contain("unsafe-eval"));
                Assert.That(response.Headers.GetValues("X-Content-Type-Options"), Is.EqualTo(new[] { "nosniff" }));
                Assert.That(response.Headers.GetValues("X-Frame-Options"), Is.EqualTo(new[] { "DENY" }), "for browsers that ignore frame-ancestors");
                Assert.That(response.Headers.GetValues("Referrer-Policy"), Is.EqualTo(new[] { "no-referrer" }), "no user id in a Referer");
                Assert.That(response.Headers.CacheControl!.NoStore, Is.True);
            });
        }

        Assert.That((await client.GetAsync("/console/other.js")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await client.GetAsync("/console/..%2FProgram.cs")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        await ProblemAssert.IsProblemAsync(await client.PostAsync("/console", null), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        await ProblemAssert.IsProblemAsync(await client.DeleteAsync("/console/console.js"), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    [Test]
    public async Task The_assets_hold_no_inline_script_or_style_no_third_party_url_and_no_local_storage()
    {
        using var app = new AuthApp(new Dictionary<string, string?> { ["Console:Enabled"] = "true" });
        using var client = app.Server.CreateClient();
        var html = await client.GetStringAsync("/console");
        var js = await client.GetStringAsync("/console/console.js");
        var css = await client.GetStringAsync("/console/console.css");
        Assert.Multiple(() =>
        {
            Assert.That(Regex.Matches(html, "<script(?![^>]*\\bsrc=\"/console/)", RegexOptions.IgnoreCase), Is.Empty, "every script is a file");
            Assert.That(html, Does.Not.Contain("<style").And.Not.Contain(" style=").And.Not.Match("<[^>]*\\son[a-z]+="), "no inline style or handler");
            Assert.That(html + js + css, Does.Not.Match("https?://"), "no third-party or CDN URL");
            Assert.That(js, Does.Not.Contain("localStorage").And.Not.Contain("document.cookie"));
            foreach (var sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment", "eval(", "new Function" })
            {
                Assert.That(js, Does.Not.Contain(sink), "text is written with textContent, never parsed as markup or code");
            }
            Assert.That(js, Does.Contain("sessionStorage").And.Contain("Authorization: `Bearer"));
        });
    }
}
