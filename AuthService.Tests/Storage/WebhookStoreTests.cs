using AuthService.Api.Webhooks;
using AuthService.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>The webhook statements on the real database: redelivery of a pending delivery makes it due, of a delivered one
/// queues a copy; the queue claims only the head of a user's queue and skips what another claimer holds.</summary>
public class WebhookStoreTests : AppFixture
{
    private Guid _endpointId;
    private bool _removed;

    [SetUp]
    public async Task CreateEndpoint()
    {
        // Subscribed to no event the service emits, so no other test's changes land here.
        await using var connection = await OpenAsync();
        var row = await WebhookStore.InsertEndpointAsync(connection, null, Guid.CreateVersion7(), "https://hooks.example/store", ["test.store"],
            null, [1, 2, 3], Now, null, default);
        _endpointId = row.Id;
    }

    [TearDown]
    public async Task DeleteEndpoint()
    {
        if (_removed)
        {
            _removed = false;
            return;
        }

        await using var connection = await OpenAsync();
        Assert.That(await WebhookStore.DeleteEndpointByIdAsync(connection, null, _endpointId, Now, default), Is.EqualTo("https://hooks.example/store"));
        Assert.That(await WebhookStore.DeleteEndpointByIdAsync(connection, null, _endpointId, Now, default), Is.Null, "already deleted");
        Assert.That(await WebhookStore.GetEndpointByIdAsync(connection, _endpointId, default), Is.Null, "not read once marked");
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.That(await WebhookStore.RemoveDeletedEndpointsAsync(connection, transaction, _endpointId, 1), Is.EqualTo(1));
            await transaction.CommitAsync();
        }

        Assert.That(await connection.ExecuteScalarAsync<long>("select count(*) from webhook_deliveries where endpoint_id = @_endpointId",
            new { _endpointId }), Is.Zero, "its deliveries went with it");
    }

    /// <summary>An event for a user and one delivery of it to the test endpoint.</summary>
    private async Task<(Guid EventId, long DeliveryId)> DeliveryAsync(NpgsqlConnection connection, string userId, string status,
        DateTimeOffset nextAttemptAt)
    {
        var eventId = Guid.CreateVersion7();
        await connection.ExecuteAsync(
            "insert into webhook_events (id, type, user_id, body, created_at) values (@eventId, 'test.store', @userId, '{}', @now)",
            new { eventId, userId, now = Now });
        var deliveryId = await connection.ExecuteScalarAsync<long>("""
            insert into webhook_deliveries (event_id, endpoint_id, order_key, status, next_attempt_at, created_at)
            values (@eventId, @_endpointId, @userId, @status, @nextAttemptAt, @now) returning id
            """, new { eventId, _endpointId, userId, status, nextAttemptAt, now = Now });
        return (eventId, deliveryId);
    }

    [Test]
    public async Task Redelivering_a_pending_delivery_makes_it_due_now()
    {
        await using var connection = await OpenAsync();
        var (_, deliveryId) = await DeliveryAsync(connection, AuthApp.NewUserId(), "pending", Now.AddHours(1));

        var row = await WebhookStore.RedeliverByIdAsync(connection, _endpointId, deliveryId, Now, default);

        Assert.That(row?.Id, Is.EqualTo(deliveryId), "the same delivery");
        Assert.That(row!.NextAttemptAt, Is.EqualTo(Now.UtcDateTime).Within(TimeSpan.FromMilliseconds(1)));
        Assert.That(await WebhookStore.ListDeliveriesByEndpointIdAsync(connection, _endpointId, null, null, 10, default), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Redelivering_a_delivered_delivery_queues_a_new_one_of_the_same_event()
    {
        await using var connection = await OpenAsync();
        var (eventId, deliveryId) = await DeliveryAsync(connection, AuthApp.NewUserId(), "delivered", Now);

        var row = await WebhookStore.RedeliverByIdAsync(connection, _endpointId, deliveryId, Now.AddMinutes(5), default);

        Assert.That(row?.Id, Is.GreaterThan(deliveryId), "a new delivery");
        Assert.That(row!.EventId, Is.EqualTo(eventId), "same event, so the same webhook-id");
        Assert.That(row.Status, Is.EqualTo("pending"));
        var delivered = await WebhookStore.ListDeliveriesByEndpointIdAsync(connection, _endpointId, "delivered", null, 10, default);
        Assert.That(delivered.Select(d => d.Id), Is.EqualTo(new[] { deliveryId }), "the delivered one stays as it was");
    }

    [Test]
    public async Task Redelivering_a_delivery_of_another_endpoint_or_none_finds_nothing()
    {
        await using var connection = await OpenAsync();
        var (_, deliveryId) = await DeliveryAsync(connection, AuthApp.NewUserId(), "delivered", Now);

        Assert.That(await WebhookStore.RedeliverByIdAsync(connection, Guid.CreateVersion7(), deliveryId, Now, default), Is.Null);
        Assert.That(await WebhookStore.RedeliverByIdAsync(connection, _endpointId, deliveryId + 1_000_000, Now, default), Is.Null);
    }

    [Test]
    public async Task A_claim_takes_only_the_head_of_a_users_queue_and_skips_what_another_claim_holds()
    {
        var userId = AuthApp.NewUserId();
        var longAgo = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero); // ahead of anything else due in the shared database
        long head;
        await using (var setup = await OpenAsync())
        {
            head = (await DeliveryAsync(setup, userId, "pending", longAgo)).DeliveryId;
            await DeliveryAsync(setup, userId, "pending", longAgo);
        }

        await using var first = await OpenAsync();
        await using var firstClaim = await first.BeginTransactionAsync();
        var claimed = await WebhookQueue.ClaimDueAsync(first, firstClaim, Now, 100, default);
        Assert.That(claimed.Where(d => d.EndpointId == _endpointId).Select(d => d.Id), Is.EqualTo(new[] { head }),
            "the second waits behind the head");

        await using var second = await OpenAsync();
        await using var secondClaim = await second.BeginTransactionAsync();
        var again = await WebhookQueue.ClaimDueAsync(second, secondClaim, Now, 100, default);
        Assert.That(again.Where(d => d.EndpointId == _endpointId), Is.Empty, "the head is locked, the rest is not yet its turn");
    }

    /// <summary>Migration 0022: the API's delete marks the endpoint without waiting for a pass that holds it, no claim takes its
    /// deliveries from then on, and the removal passes over it while the pass holds it, taking it once the pass ends.</summary>
    [Test]
    public async Task A_marked_endpoint_is_never_claimed_and_removed_only_once_no_claim_holds_it()
    {
        var longAgo = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await using (var setup = await OpenAsync())
        {
            await DeliveryAsync(setup, AuthApp.NewUserId(), "pending", longAgo);
        }

        await using var pass = await OpenAsync();
        var passClaim = await pass.BeginTransactionAsync();
        Assert.That((await WebhookQueue.ClaimDueAsync(pass, passClaim, Now, 100, default)).Count(d => d.EndpointId == _endpointId), Is.EqualTo(1));

        await using var admin = await OpenAsync();
        await admin.ExecuteAsync("set statement_timeout = '5s'"); // a wait for the pass fails the test instead of hanging it
        Assert.That(await WebhookStore.DeleteEndpointByIdAsync(admin, null, _endpointId, Now, default), Is.Not.Null, "marked while the pass holds it");
        await using (var removal = await admin.BeginTransactionAsync())
        {
            Assert.That(await WebhookStore.RemoveDeletedEndpointsAsync(admin, removal, _endpointId, 1), Is.Zero, "the pass holds it");
            await removal.CommitAsync();
        }

        await passClaim.RollbackAsync(); // the pass ends without an outcome: the delivery is due again
        await using (var next = await pass.BeginTransactionAsync())
        {
            Assert.That((await WebhookQueue.ClaimDueAsync(pass, next, Now, 100, default)).Where(d => d.EndpointId == _endpointId), Is.Empty,
                "a marked endpoint's deliveries are never claimed");
        }

        await using (var removal = await admin.BeginTransactionAsync())
        {
            Assert.That(await WebhookStore.RemoveDeletedEndpointsAsync(admin, removal, _endpointId, 1), Is.EqualTo(1));
            await removal.CommitAsync();
        }

        Assert.That(await admin.ExecuteScalarAsync<long>("select count(*) from webhook_deliveries where endpoint_id = @_endpointId", new { _endpointId }),
            Is.Zero);
        _removed = true;
    }
}
