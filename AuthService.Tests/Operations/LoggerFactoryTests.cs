using AuthService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AuthService.Tests.Operations;

/// <summary>Serilog's logger factory builds a new logger on every call, and ASP.NET Core asks for one per request in places
/// (every typed result when it executes). The service's factory keeps one per category (issue 27).</summary>
public class LoggerFactoryTests
{
    [Test]
    public void A_category_gets_the_same_logger_every_time()
    {
        using var app = new AuthApp();
        var factory = app.Services.GetRequiredService<ILoggerFactory>();

        var first = factory.CreateLogger("Microsoft.AspNetCore.Http.Result.OkObjectResult");

        Assert.That(factory.CreateLogger("Microsoft.AspNetCore.Http.Result.OkObjectResult"), Is.SameAs(first));
        Assert.That(factory.CreateLogger("AuthService.Api.TwoFactor.CodeProofs"), Is.Not.SameAs(first));
    }
}
