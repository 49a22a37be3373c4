using System.Net;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Npgsql;

namespace AuthService.Tests.Operations;

/// <summary>A query the server cancels — a DBA's <c>pg_cancel_backend</c>, or a role's <c>statement_timeout</c> shorter than the
/// service's command timeout — arrives as 57014 <c>query_canceled</c>, which Npgsql does not count as transient. It is the
/// database refusing work for now, not a bug in the request: 503 <c>database_unavailable</c> with Retry-After, like a
/// terminated session (57P01), never 500 <c>internal_error</c>.</summary>
public class CancelledQueryTests : AppFixture
{
    [Test]
    public async Task A_query_the_server_cancels_is_answered_503_database_unavailable()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using var holder = await OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await AttemptLedger.LockUserAsync(holder, hold, user.UserId);

        var login = Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) });
        await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
        await using (var cancel = new NpgsqlCommand("""
            select count(pg_cancel_backend(pid)) from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()
            """, holder, hold))
        {
            Assert.That(await cancel.ExecuteScalarAsync(), Is.EqualTo(1L), "the login's query was waiting for the user's lock");
        }

        var answer = await login;
        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        Assert.That(answer.Headers.RetryAfter, Is.Not.Null);
        await hold.RollbackAsync();
        (await Flows.VerifyAsync(Client, user.UserId, new { code = Flows.Code(user.Secret, Now) })).EnsureSuccessStatusCode();
    }
}
