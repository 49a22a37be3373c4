using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace AuthService.Api.Hosting;

/// <summary>Serilog: a readable console in Development, one JSON object per line elsewhere. Request logging
/// records method, path, status and time; never headers or bodies, which hold keys and codes.</summary>
public static class Logging
{
    public static WebApplicationBuilder AddServiceLogging(this WebApplicationBuilder builder)
    {
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                // ErrorHandling logs every failure once, without the stack trace of a client mistake.
                .MinimumLevel.Override("Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", LogEventLevel.Fatal)
                .MinimumLevel.Override("Microsoft.Extensions.Http", LogEventLevel.Warning)
                .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
                .Enrich.FromLogContext();
            if (development)
            {
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            }
            else
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
        });

        // Serilog's logger factory builds a new logger (and its event-id cache) on every CreateLogger call, and ASP.NET Core
        // asks for one per request in places (each typed result's ExecuteAsync, every transient service taking an ILogger<T>):
        // issue 27's allocation trace found it on every verify. Loggers are kept by category instead; categories are type
        // names and fixed strings, a bounded set.
        // Serilog's registration is the last one; every earlier one (the host's default factory) is removed with it.
        var serilogFactory = builder.Services.Last(d => d.ServiceType == typeof(ILoggerFactory));
        builder.Services.RemoveAll<ILoggerFactory>();
        builder.Services.AddSingleton<ILoggerFactory>(services => new CachingLoggerFactory((ILoggerFactory)(
            serilogFactory.ImplementationInstance ?? serilogFactory.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, serilogFactory.ImplementationType!))));
        return builder;
    }

    /// <summary>Request logging through this app's Serilog logger, resolved once: without one, the middleware takes the
    /// static logger and calls <c>ForContext</c> on it for every request.</summary>
    public static WebApplication UseServiceRequestLogging(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<Serilog.ILogger>();
        app.UseSerilogRequestLogging(options => options.Logger = logger);
        return app;
    }

    /// <summary>One logger per category, created once by the factory it wraps.</summary>
    private sealed class CachingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        private readonly ConcurrentDictionary<string, Microsoft.Extensions.Logging.ILogger> _loggers = new(StringComparer.Ordinal);

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, inner.CreateLogger);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();
    }
}
