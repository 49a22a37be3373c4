using System.Net;
using System.Net.Http.Json;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.TwoFactor;

/// <summary>An Idempotency-Key is never stuck: a claim is released on every failure and lapses after its lease, and a
/// client abort never undoes a send that already reached the provider.</summary>
public class ChallengeIdempotencyTests : AppFixture
{
    protected override bool SendsCodes => true;

    private async Task<(string UserId, string Phone)> EnablePhoneAsync()
    {
        var userId = AuthApp.NewUserId("idem");
        var phone = PhoneFactorTests.NewPhone();
        (await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll", new { method = "phone", phoneNumber = phone, channel = "sms" }))
            .EnsureSuccessStatusCode();
        (await Client.PostAsJsonAsync($"/v1/users/{userId}/two-factor/enroll/confirm", new { code = Telnyx.LastCodeTo(phone) }))
            .EnsureSuccessStatusCode();
        return (userId, phone);
    }

    private Task<HttpResponseMessage> ChallengeAsync(string userId, string key, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/users/{userId}/two-factor/challenge")
        {
            Content = JsonContent.Create(new { channel = "sms" }),
        };
        request.Headers.Add("Idempotency-Key", key);
        return Client.SendAsync(request, cancellationToken);
    }

    [Test]
    public async Task A_database_error_in_the_middle_of_a_challenge_releases_the_key()
    {
        var (userId, phone) = await EnablePhoneAsync();
        var sentBefore = Telnyx.DeliveriesTo(phone).Count;
        await using (var connection = new NpgsqlConnection(App.ConnectionString))
        {
            // A real, transient database error (insufficient_resources) on this user's delivery reservation.
            await connection.ExecuteAsync($"""
                create or replace function test_blip() returns trigger language plpgsql as $$
                begin if new.user_id = '{userId}' then raise exception 'simulated database blip' using errcode = '53000'; end if; return new; end $$;
                create trigger test_blip before insert on deliveries for each row execute function test_blip();
                """);
        }

        try
        {
            var failed = await ChallengeAsync(userId, "retry-me");
            Assert.That((int)failed.StatusCode, Is.EqualTo(503), await failed.Content.ReadAsStringAsync());
        }
        finally
        {
            await using var connection = new NpgsqlConnection(App.ConnectionString);
            await connection.ExecuteAsync("drop trigger test_blip on deliveries; drop function test_blip();");
        }

        var retried = await ChallengeAsync(userId, "retry-me");
        Assert.That(retried.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the key was released, not stuck in progress for 24 h");
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(sentBefore + 1));
    }

    [Test]
    public async Task A_client_abort_after_the_send_reached_the_provider_keeps_the_code_and_the_answer()
    {
        var (userId, phone) = await EnablePhoneAsync();
        using var held = Telnyx.Hold(phone);
        using var abort = new CancellationTokenSource();
        var challenge = ChallengeAsync(userId, "abort-me", abort.Token);
        await held.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await abort.CancelAsync(); // the client gives up while the provider is handling the message
        Assert.That(async () => await challenge, Throws.InstanceOf<OperationCanceledException>());
        held.Open();

        // The request finishes on the server: the retry gets the first answer (not 409) and nothing is sent again.
        HttpResponseMessage retried;
        var attempts = 0;
        do
        {
            retried = await ChallengeAsync(userId, "abort-me");
            if (retried.StatusCode != HttpStatusCode.Conflict)
            {
                break;
            }

            await Task.Delay(50); // waiting for the server to finish the aborted request, not for a clock
        }
        while (++attempts < 200);

        Assert.That(retried.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await retried.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone), Has.Count.EqualTo(2), "the enrollment SMS and the one login SMS; the retry sent nothing");
        var verify = await Flows.VerifyAsync(Client, userId, new { code = Telnyx.LastCodeTo(phone) });
        Assert.That(verify.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the code the person received works");
    }

    [Test]
    public async Task A_claim_whose_request_died_lapses_after_its_lease()
    {
        var (userId, _) = await EnablePhoneAsync();
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        // A claim left in progress by an instance that crashed mid-request (for the same request: the fingerprint of a real one).
        (await ChallengeAsync(userId, "probe")).EnsureSuccessStatusCode();
        await connection.ExecuteAsync("""
            insert into idempotency_keys (user_id, key, fingerprint, created_at)
            select user_id, 'orphan', fingerprint, @at from idempotency_keys where user_id = @userId and key = 'probe'
            """, new { userId, at = Now.AddSeconds(-30) });

        var inProgress = await ChallengeAsync(userId, "orphan");
        await ProblemAssert.IsProblemAsync(inProgress, HttpStatusCode.Conflict, "idempotency_key_in_use");
        Assert.That(inProgress.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(5)), "30 s of lease left: asked again in 5 s at most");
        App.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.That((await ChallengeAsync(userId, "orphan")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the lease lapsed");
    }

    /// <summary>A keyed challenge starts no send that could outlast its claim: had the reservation waited (here on a lock the
    /// test holds) until less than the longest send (the stand-in's TotalTimeout, 3 s) and <see cref="IdempotentRequests.StoreBudget"/>
    /// (10 s) of the 60 s lease was left, a retry could claim the key during the send and send a second code. It sends nothing,
    /// gives its reservation back and releases the key.</summary>
    [TestCase(46, true)]
    [TestCase(48, false)]
    public async Task A_challenge_starts_no_send_its_idempotency_claim_could_not_outlast(int secondsBeforeTheSend, bool sends)
    {
        var (userId, phone) = await EnablePhoneAsync();
        var sentBefore = Telnyx.DeliveriesTo(phone).Count;
        var key = Guid.NewGuid().ToString();
        Task<HttpResponseMessage> challenge;
        await using (var holder = new NpgsqlConnection(App.ConnectionString))
        {
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await DeliveryLedger.LockAsync(holder, transaction, "deliveries-user", userId);
            challenge = ChallengeAsync(userId, key);
            await LockWaits.UntilSessionsWaitAsync(App.ConnectionString, 1);
            App.Time.Advance(TimeSpan.FromSeconds(secondsBeforeTheSend));
            await transaction.CommitAsync();
        }

        var answer = await challenge;
        if (sends)
        {
            Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await answer.Content.ReadAsStringAsync());
            Assert.That(Telnyx.DeliveriesTo(phone).Count - sentBefore, Is.EqualTo(1));
            return;
        }

        await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.ServiceUnavailable, "telephony_unavailable");
        Assert.That(Telnyx.DeliveriesTo(phone).Count - sentBefore, Is.Zero, "nothing sent");
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId }),
            Is.EqualTo(1), "the reservation was given back: only the enrollment's delivery counts");
        var retry = await ChallengeAsync(userId, key);
        Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the key was released: " + await retry.Content.ReadAsStringAsync());
        Assert.That(Telnyx.DeliveriesTo(phone).Count - sentBefore, Is.EqualTo(1));
    }

    /// <summary>The first use of a key eight times at once (eight requests racing for its row on their own connections): one
    /// claims it and sends; each other replays that answer or is told the key is in use. One code goes out.</summary>
    [Test]
    public async Task Eight_first_uses_of_one_key_at_once_send_one_code()
    {
        var (userId, phone) = await EnablePhoneAsync();
        var sentBefore = Telnyx.DeliveriesTo(phone).Count;
        var key = Guid.NewGuid().ToString();
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => ChallengeAsync(userId, key))));

        Assert.That(Telnyx.DeliveriesTo(phone).Count - sentBefore, Is.EqualTo(1), "one code for one key");
        var accepted = answers.Where(a => a.StatusCode == HttpStatusCode.Accepted).ToList();
        Assert.That(accepted, Is.Not.Empty);
        Assert.That((await Task.WhenAll(accepted.Select(a => a.Content.ReadAsStringAsync()))).Distinct(), Has.Exactly(1).Items,
            "every 202 is the one answer");
        foreach (var other in answers.Except(accepted))
        {
            await ProblemAssert.IsProblemAsync(other, HttpStatusCode.Conflict, "idempotency_key_in_use");
        }

        await using var connection = new NpgsqlConnection(App.ConnectionString);
        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from deliveries where user_id = @userId", new { userId }),
            Is.EqualTo(2), "the enrollment's delivery and the one challenge's");
    }
}
