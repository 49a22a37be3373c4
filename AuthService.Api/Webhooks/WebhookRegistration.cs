using Microsoft.Extensions.Options;
using Polly;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AuthService.Api.Webhooks;

public static class WebhookRegistration
{
    /// <summary>The use cases of <see cref="WebhooksApi"/>, the outbox dispatcher (a hosted service on every instance), and the <c>webhooks</c> HTTP
    /// client with its SSRF-guarded handler and its timeout pipeline.</summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IHostEnvironment environment)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration("Webhooks")
            .Validate(o => o.Validate(), "Webhooks: PollInterval above 0 and at most 1 day, Timeout from 10 ms to 1 day, FirstBackoff > 0, MaxBackoff >= FirstBackoff, RetryFor >= 24h, " +
                                         "BatchSize 1–100, Retention > 0.")
            .ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WebhookOptions>>().Value;
            // Fail safe: off in every environment but Development (an environment's name is free text, and `prod` or
            // `Staging` must not open the SSRF guard); explicit configuration still opens it anywhere.
            var development = environment.IsDevelopment();
            return new WebhookUrlGuard(options.AllowInsecure ?? development, options.AllowPrivateNetworks ?? development);
        });
        services.AddHttpClient(WebhookSender.ClientName, (sp, client) =>
                // A backstop on the wall clock; the pipeline's timeout (on the service's TimeProvider) is the real bound.
                client.Timeout = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.Timeout + TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookSender.CreateHandler(sp.GetRequiredService<WebhookUrlGuard>()))
            // No HttpClient logging (as Telnyx's client): a receiver's URL can carry a credential in its path, and the client's
            // scope would put it on every line logged during a delivery. The dispatcher logs deliveries by endpoint id.
            .RemoveAllLoggers()
            .AddResilienceHandler("webhooks", (pipeline, context) =>
                pipeline.AddTimeout(context.ServiceProvider.GetRequiredService<IOptions<WebhookOptions>>().Value.Timeout));
        services.AddSingleton<RegisterWebhook>();
        services.AddSingleton<WebhookEndpoints>();
        services.AddSingleton<WebhookDeliveries>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.Configure<SwaggerGenOptions>(options =>
        {
            options.SchemaFilter<WebhookExamples>();
            options.DocumentFilter<WebhookExamples>();
        });
        return services;
    }
}
