using AuthService.Api.Hosting;
using AuthService.Api.Storage;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>The attempt ledger's statements on the real database: the user's lock held from the batch's first round trip to
/// its commit, the commit travelling with the writes, and an error rolling the whole batch back.</summary>
public class AttemptLedgerTests : AppFixture
{
    private static NpgsqlBatchCommand FailureRow(string userId, DateTimeOffset at) =>
        new("insert into verification_failures (user_id, created_at) values ($1, $2)")
        {
            Parameters = { new NpgsqlParameter<string>() { TypedValue = userId }, new NpgsqlParameter<DateTimeOffset>() { TypedValue = at } },
        };

    private async Task<long> FailuresOfAsync(string userId)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<long>("select count(*) from verification_failures where user_id = @userId", new { userId });
    }

    [Test]
    public async Task Lock_and_load_reads_the_factor_and_only_the_failures_of_the_window()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync("insert into verification_failures (user_id, created_at) values (@u, @old), (@u, @recent)",
            new { u = user.UserId, old = Now.AddMinutes(-2), recent = Now.AddSeconds(-5) });

        await using var transaction = await connection.BeginTransactionAsync();
        var (factor, failures) = await AttemptLedger.LockAndLoadAsync(connection, transaction, user.UserId, Now.AddMinutes(-1));

        Assert.That(factor?.Default.Method, Is.EqualTo("totp"));
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0], Is.EqualTo(Now.AddSeconds(-5)).Within(TimeSpan.FromMilliseconds(1)));
    }

    /// <summary>A login rewrites its factor's row; that rewrite must stay a HOT update (no index entry, no tuple on another page),
    /// which the same-run A/B bench showed is what keeps the accept statement's WAL near the pre-issue-22 build's (migration
    /// 0014). It fails when an index is put on a column the accept updates (last_totp_step, last_used_at, updated_at), or when the
    /// table loses the room per page. Counted by PostgreSQL as a difference within this transaction, which is rolled back: the
    /// backend's counters also hold earlier transactions' updates until it flushes them (at most once a second, when idle), and
    /// behind PgBouncer the server backend is shared, so only a difference read inside one transaction is this test's own.</summary>
    [Test]
    public async Task The_accept_statement_rewrites_the_factor_row_as_a_hot_update()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var (factorId, lastStep) = await connection.QuerySingleAsync<(Guid, long)>(
            "select factor_id, last_totp_step from factors where user_id = @u and method = 'totp'", new { u = user.UserId }, transaction);
        const string counts = """
            select pg_stat_get_xact_tuples_updated('factors'::regclass), pg_stat_get_xact_tuples_hot_updated('factors'::regclass),
                   (select option_value from pg_options_to_table((select reloptions from pg_class where oid = 'factors'::regclass))
                    where option_name = 'fillfactor')
            """;
        var (updatedBefore, hotBefore, _) = await connection.QuerySingleAsync<(long, long, string?)>(counts, transaction: transaction);
        for (var step = lastStep + 1; step <= lastStep + 3; step++)
        {
            var acceptance = new AttemptLedger.TotpAcceptance(user.UserId, factorId, step, Now, Now.AddMinutes(-1), 5, null, "{}");
            Assert.That(await AttemptLedger.TryAcceptTotpStepAsync(connection, transaction, acceptance), Is.Not.Null, $"step {step} accepted");
        }

        var (updated, hot, fillfactor) = await connection.QuerySingleAsync<(long, long, string?)>(counts, transaction: transaction);
        Assert.That((updated - updatedBefore, hot - hotBefore), Is.EqualTo((3L, 3L)), "every accept is one HOT update of the factor row");
        Assert.That(fillfactor, Is.EqualTo("50"), "migration 0014's room per page");
        await transaction.RollbackAsync();
    }

    /// <summary>A coalesced login from a new device carries its <c>new_device_login</c> row and webhook in the acceptance's own
    /// statement: written when the statement accepts the step, and not at all when it refuses it (a step not later than the
    /// last accepted one), with an endpoint subscribed so the webhook CTEs run. All in one transaction that is rolled back, so
    /// the endpoint and its outbox rows never reach the other tests of the shared service.</summary>
    [Test]
    public async Task The_new_device_row_and_webhook_are_written_only_when_the_accept_statement_accepts()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("""
            insert into webhook_endpoints (id, url, events, secret, created_at) values (gen_random_uuid(), 'https://93.184.215.14/hooks', '{*}', '\x00', now())
            """, transaction: transaction);
        var (factorId, lastStep) = await connection.QuerySingleAsync<(Guid, long)>(
            "select factor_id, last_totp_step from factors where user_id = @u and method = 'totp'", new { u = user.UserId }, transaction);

        async Task<(bool Accepted, long Rows, long Webhooks)> AcceptAsync(long step)
        {
            var acceptance = new AttemptLedger.TotpAcceptance(user.UserId, factorId, step, Now, Now.AddMinutes(-1), 5, null, "{}");
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(AttemptLedger.AcceptTotpStepCommand(acceptance, new Api.Events.AuditEvent.NewDeviceLogin("totp", factorId)));
            bool accepted;
            await using (var reader = await batch.ExecuteReaderAsync())
            {
                accepted = await reader.ReadAsync();
            }

            return (accepted,
                await connection.ExecuteScalarAsync<long>("select count(*) from audit_events where user_id = @u and event_type = 'new_device_login'", new { u = user.UserId }, transaction),
                await connection.ExecuteScalarAsync<long>("select count(*) from webhook_events where user_id = @u and type = 'two_factor.new_device_login'", new { u = user.UserId }, transaction));
        }

        Assert.That(await AcceptAsync(lastStep), Is.EqualTo((false, 0L, 0L)), "a refused step writes neither the row nor the webhook");
        Assert.That(await AcceptAsync(lastStep + 1), Is.EqualTo((true, 1L, 1L)), "an accepted step writes both, once");
        await transaction.RollbackAsync();
    }

    /// <summary>The accept statement over a set (a coalesced batch's acceptances in one statement) takes or refuses each
    /// acceptance on its own: a stale step and a user at the per-minute limit are refused, the two others taken. Only the taken
    /// ones answer a row (ordinal, backup codes left) and get their audit rows (the success, then the new-device row) and
    /// their webhook events, and the outbox queues the deliveries in ordinal order. Rolled back, like the test above.</summary>
    [Test]
    public async Task A_set_of_acceptances_takes_or_refuses_each_one_on_its_own()
    {
        var users = new List<Flows.EnabledTotpUser>();
        for (var i = 0; i < 4; i++)
        {
            users.Add(await Flows.EnableTotpAsync(App, Client));
        }

        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("""
            insert into webhook_endpoints (id, url, events, secret, created_at) values (gen_random_uuid(), 'https://93.184.215.14/hooks', '{*}', '\x00', now())
            """, transaction: transaction);
        await connection.ExecuteAsync("insert into verification_failures (user_id, created_at) select @u, @at from generate_series(1, 5)",
            new { u = users[2].UserId, at = Now.AddSeconds(-10) }, transaction);
        var rows = new List<AttemptLedger.TotpAcceptanceRow>();
        for (var i = 0; i < users.Count; i++)
        {
            var (factorId, lastStep) = await connection.QuerySingleAsync<(Guid, long)>(
                "select factor_id, last_totp_step from factors where user_id = @u and method = 'totp'", new { u = users[i].UserId }, transaction);
            var step = i == 1 ? lastStep : lastStep + 1; // users[1]: a step already taken
            rows.Add(new AttemptLedger.TotpAcceptanceRow(10 + i,
                new AttemptLedger.TotpAcceptance(users[i].UserId, factorId, step, Now, Now.AddMinutes(-1), 5, null, "{}"),
                new Api.Events.AuditEvent.NewDeviceLogin("totp", factorId)));
        }

        var answered = new List<(int, int)>();
        await using (var batch = new NpgsqlBatch(connection) { BatchCommands = { AttemptLedger.AcceptTotpStepsCommand(rows) } })
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                answered.Add((reader.GetInt32(0), reader.GetInt32(1)));
            }
        }

        Assert.That(answered, Is.EqualTo(new[] { (10, 10), (13, 10) }), "users[1] (stale step) and users[2] (at the limit) refused");
        var ids = users.Select(u => u.UserId).ToArray();
        var audit = (await connection.QueryAsync<(string, string)>(
            "select user_id, event_type from audit_events where user_id = any(@ids) and event_type in ('verification_succeeded', 'new_device_login') order by id",
            new { ids }, transaction)).ToList();
        Assert.That(audit, Is.EqualTo(new[]
        {
            (ids[0], "verification_succeeded"), (ids[0], "new_device_login"), (ids[3], "verification_succeeded"), (ids[3], "new_device_login"),
        }));
        var deliveries = (await connection.QueryAsync<string>("""
            select e.user_id from webhook_deliveries d join webhook_events e on e.id = d.event_id
            where e.user_id = any(@ids) and e.type = 'two_factor.new_device_login' order by d.id
            """, new { ids }, transaction)).ToList();
        Assert.That(deliveries, Is.EqualTo(new[] { ids[0], ids[3] }), "one event and delivery per taken acceptance, in ordinal order");
        await transaction.RollbackAsync();
    }

    [Test]
    public void A_set_of_acceptances_refuses_to_hold_a_user_twice()
    {
        var acceptance = new AttemptLedger.TotpAcceptance("u1", Guid.NewGuid(), 1, Now, Now.AddMinutes(-1), 5, null, "{}");
        Assert.Throws<ArgumentException>(() => AttemptLedger.AcceptTotpStepsCommand(
            [new AttemptLedger.TotpAcceptanceRow(0, acceptance, null), new AttemptLedger.TotpAcceptanceRow(1, acceptance with { Step = 2 }, null)]));
    }

    /// <summary>A throttled webhook (<c>two_factor.rate_limited</c>: one per user and minute) cannot ride on a set statement,
    /// whose outbox CTEs do not see the rows they write: the command refuses it rather than send a throttle that cannot hold.</summary>
    [Test]
    public void A_set_of_acceptances_refuses_a_throttled_webhook()
    {
        var acceptance = new AttemptLedger.TotpAcceptance("u1", Guid.NewGuid(), 1, Now, Now.AddMinutes(-1), 5, null, "{}");
        Assert.Throws<ArgumentException>(() => AttemptLedger.AcceptTotpStepsCommand(
            [new AttemptLedger.TotpAcceptanceRow(0, acceptance, new Api.Events.AuditEvent.RateLimited("attempts_per_minute"))]));
    }

    [Test]
    public async Task A_batch_holds_its_users_locks_until_its_writes_commit()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using var batch = await OpenAsync();
        var factors = await AttemptLedger.BeginLockAndLoadManyAsync(batch, [user.UserId, AuthApp.NewUserId()], Now.AddMinutes(-1));
        Assert.That(factors.Keys, Is.EqualTo(new[] { user.UserId }), "users without a factor are simply absent");

        await using var other = await OpenAsync();
        await using var otherTransaction = await other.BeginTransactionAsync();
        var pid = await other.ExecuteScalarAsync<int>("select pg_backend_pid()", transaction: otherTransaction); // (PgBouncer: this server's)
        var waiting = AttemptLedger.LockUserAsync(other, otherTransaction, user.UserId);
        await WaitUntilBlockedAsync(pid);
        Assert.That(waiting.IsCompleted, Is.False, "the user's lock is held between the batch's round trips");

        await using (var reader = await AttemptLedger.WriteAndCommitAsync(batch, [FailureRow(user.UserId, Now)]))
        {
            while (await reader.NextResultAsync())
            {
            }
        }

        await waiting;
        Assert.That(await FailuresOfAsync(user.UserId), Is.EqualTo(1), "committed with the writes");
    }

    [Test]
    public async Task An_error_in_the_writes_rolls_the_batch_back_and_frees_the_lock()
    {
        var user = await Flows.EnableTotpAsync(App, Client);
        await using (var batch = await OpenAsync())
        {
            await AttemptLedger.BeginLockAndLoadManyAsync(batch, [user.UserId], Now.AddMinutes(-1));
            await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var reader = await AttemptLedger.WriteAndCommitAsync(batch, [FailureRow(user.UserId, Now), new NpgsqlBatchCommand("select 1/0")]);
                while (await reader.NextResultAsync())
                {
                }
            });
        }

        await using (var pooled = await OpenAsync()) // most likely the very connection the batch ran on, back from the pool
        {
            Assert.That(await pooled.ExecuteScalarAsync<long>(
                    "select count(*) from pg_locks where pid = pg_backend_pid() and locktype = 'advisory'"), Is.Zero,
                "the connection came back from the pool without the batch's transaction or its locks");
        }

        // Another session for certain (no pool): a lock left held by the batch's session would time out here.
        await using var other = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(App.ConnectionString) { Pooling = false }.ConnectionString);
        await other.OpenAsync();
        Assert.That(await other.ExecuteScalarAsync<long>("select count(*) from verification_failures where user_id = @u", new { u = user.UserId }),
            Is.Zero, "the failure written before the error is not committed");
        await using var transaction = await other.BeginTransactionAsync();
        // Local to the transaction: behind PgBouncer a session setting would stay on a server connection that later tests get.
        await other.ExecuteAsync("set local lock_timeout = '2s'", transaction: transaction);
        await AttemptLedger.LockUserAsync(other, transaction, user.UserId);
    }

    [Test]
    public async Task A_prepared_batch_read_is_planned_once_whatever_the_batch_size()
    {
        if (TestDatabase.Pooler == "pgbouncer")
        {
            Assert.Ignore("Behind PgBouncer the service prepares nothing: every statement is planned where it runs.");
        }

        // A session of its own with the service's settings (Npgsql prepares a statement at its second use), so the
        // counts below are this test's alone.
        var tuned = new NpgsqlConnectionStringBuilder(ServiceRegistration.TunedConnectionString(App.ConnectionString)) { Pooling = false };
        await using var connection = new NpgsqlConnection(tuned.ConnectionString);
        await connection.OpenAsync();
        var users = Enumerable.Range(0, 9).Select(_ => AuthApp.NewUserId()).ToArray();
        for (var i = 0; i < 16; i++)
        {
            // Batch sizes of 1 to 9, as coalesced logins come: with custom plans winning, each of these was planned anew.
            await AttemptLedger.BeginLockAndLoadManyAsync(connection, users[..(i % 9 + 1)], Now.AddMinutes(-1));
            await connection.ExecuteAsync("rollback");
        }

        var plans = (await connection.QueryAsync<(long Generic, long Custom)>(
            "select generic_plans, custom_plans from pg_prepared_statements where statement like '%recent_failures%'")).ToList();
        Assert.That(plans, Has.Count.EqualTo(1), "the read is prepared on this connection");
        Assert.That(plans[0].Custom, Is.Zero, "no execution of the read was planned for its own parameters");
        Assert.That(plans[0].Generic, Is.GreaterThanOrEqualTo(14), "every execution after the preparing one ran the one generic plan");
    }

    /// <summary>Waits (polling PostgreSQL, not the clock) until the backend is blocked on a lock.</summary>
    private async Task WaitUntilBlockedAsync(int pid)
    {
        await using var probe = await OpenAsync();
        for (var i = 0; i < 5000; i++)
        {
            if (await probe.ExecuteScalarAsync<bool>("select wait_event_type = 'Lock' from pg_stat_activity where pid = @pid", new { pid }))
            {
                return;
            }

            await Task.Yield();
        }

        Assert.Fail("The second transaction never waited for the lock.");
    }
}
