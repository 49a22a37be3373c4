using System.Globalization;
using System.Text.RegularExpressions;

namespace AuthService.Tests.Infrastructure;

/// <summary>One scrape of <c>GET /metrics</c> (Prometheus text), as an operator's Prometheus reads it. The service's metrics are
/// the process's own, shared by every in-process app and by the tests before this one, so a test reads a counter's change over
/// its own steps (<see cref="Since"/>: a scrape before them, one after), never its absolute value. The tests of a run are not
/// parallel (no test is marked so), so nothing else moves a counter between the two scrapes.</summary>
public sealed class Scrape
{
    private readonly string _text;

    private Scrape(string text) => _text = text;

    /// <summary>Scrapes <paramref name="app"/> without an API key, as Prometheus does.</summary>
    public static async Task<Scrape> TakeAsync(AuthApp app)
    {
        using var anonymous = app.CreateClient();
        return new Scrape(await anonymous.GetStringAsync("/metrics"));
    }

    /// <summary>The value of <paramref name="series"/>, its name and labels exactly as exported
    /// (<c>authservice_limit_hits_total{limit="attempts_per_minute"}</c>); 0 while the series does not exist yet (a labelled
    /// counter appears at its first increment).</summary>
    public double this[string series]
    {
        get
        {
            var match = Regex.Match(_text, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
            return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        }
    }

    /// <summary>How much <paramref name="series"/> moved from <paramref name="earlier"/> to this scrape.</summary>
    public double Since(Scrape earlier, string series) => this[series] - earlier[series];

    /// <summary>Whether the scrape exports <paramref name="series"/> at all.</summary>
    public bool Has(string series) => Regex.IsMatch(_text, "^" + Regex.Escape(series) + " ", RegexOptions.Multiline);
}
