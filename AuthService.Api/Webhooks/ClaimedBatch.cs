using Npgsql;

namespace AuthService.Api.Webhooks;

/// <summary>Claimed deliveries and the connection and transaction that hold their locks: record outcomes, then commit.
/// The batch owns both until it is disposed; disposing without committing rolls back, and the deliveries are due again.</summary>
public sealed class ClaimedBatch : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private ClaimedBatch(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<ClaimedDelivery> items)
    {
        _connection = connection;
        _transaction = transaction;
        Items = items;
    }

    public IReadOnlyList<ClaimedDelivery> Items { get; }

    /// <summary>Opens a connection, begins the transaction and claims up to <paramref name="limit"/> due deliveries in it
    /// (<see cref="WebhookQueue.ClaimDueAsync"/>). On failure the connection is closed at once.</summary>
    public static async Task<ClaimedBatch> ClaimAsync(NpgsqlDataSource dataSource, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var rows = await WebhookQueue.ClaimDueAsync(connection, transaction, now, limit, cancellationToken);
            return new ClaimedBatch(connection, transaction, rows);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task RecordAsync(IReadOnlyList<DeliveryOutcome> outcomes, CancellationToken cancellationToken)
    {
        await WebhookQueue.RecordOutcomesAsync(_connection, _transaction, outcomes, cancellationToken);
        await _transaction.CommitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
