using AuthService.Api.ApiKeys;
using AuthService.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection;

namespace AuthService.Tests.ApiKeys;

/// <summary>The authorization middleware resolves its policy evaluator and, through it, the authorization service graph for
/// every request. The service registers the framework's implementations as singletons (issue 27); what they decide is
/// checked route by route by <see cref="AuthorizationMatrixTests"/>, which runs on these same singletons.</summary>
public class AuthorizationLifetimeTests
{
    [Test]
    public void Every_request_shares_one_authorization_graph()
    {
        using var app = new AuthApp();
        using var first = app.Services.CreateScope();
        using var second = app.Services.CreateScope();

        foreach (var type in ApiKeyAuthenticationRegistration.PerRequestAuthorizationServices.Where(t => t != typeof(IAuthorizationHandler)))
        {
            Assert.That(second.ServiceProvider.GetRequiredService(type), Is.SameAs(first.ServiceProvider.GetRequiredService(type)), type.Name);
        }

        var handlers = first.ServiceProvider.GetServices<IAuthorizationHandler>().ToArray();
        Assert.That(handlers.Select(h => h.GetType().Name), Is.EqualTo(new[] { "PassThroughAuthorizationHandler" }),
            "a handler of the service's own would need its lifetime reviewed before it joins the singleton graph");
        Assert.That(second.ServiceProvider.GetServices<IAuthorizationHandler>().Single(), Is.SameAs(handlers[0]));
        Assert.That(first.ServiceProvider.GetRequiredService<IPolicyEvaluator>(), Is.TypeOf<PolicyEvaluator>());
    }
}
