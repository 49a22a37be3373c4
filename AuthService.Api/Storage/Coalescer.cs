using System.Threading.Channels;

namespace AuthService.Api.Storage;

/// <summary>Runs concurrent requests of one kind together: whatever is queued when a worker is free goes to PostgreSQL
/// as one batch, so under load N logins share one round trip (and, for writes, one commit) instead of paying N. Nothing
/// waits for a batch to fill: an idle worker takes a lone request at once, so a quiet service sees no added latency.
/// A batch that throws fails every request in it with that exception (each caller maps it as before, e.g. to 503). When the
/// exception says the database stopped answering (<c>failsQueue</c>), every request still waiting fails with it too: each
/// would otherwise wait for a batch of its own to time out in turn, two batches at a time, so the last of a full queue
/// waited about eight timeouts. With it, a request waits at most about two: the batch in flight when it arrived, and its own.
/// The queue is bounded: when the database falls behind, requests are refused at once instead of piling up.
/// With several workers, a worker starts a batch while another is in flight only once enough requests wait for it
/// (<c>minConcurrentBatch</c>): fewer, larger batches cost the database less per request, and the batch in flight takes the
/// stragglers when it ends. A stalled batch still cannot hold up the rest: the queue behind it soon reaches that size.</summary>
public sealed class Coalescer<TItem, TResult> : IDisposable
{
    private readonly Channel<Entry> _queue;
    private readonly Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> _run;
    private readonly int _maxBatch;
    private readonly Action<int, int>? _onBatch;
    private readonly Func<Exception, bool>? _failsQueue;
    private readonly Task[] _workers;
    private readonly int _minConcurrentBatch;
    private readonly SemaphoreSlim _gathered = new(0);
    private int _inFlight;
    private int _waitingWorkers;
    private volatile bool _disposed;

    /// <param name="run">Runs one batch; returns one result per item, in the items' order.</param>
    /// <param name="maxBatch">Most items per batch.</param>
    /// <param name="workers">Batches in flight at once (each holds one pooled connection while it runs).</param>
    /// <param name="capacity">Most requests waiting; beyond it <see cref="TryRun"/> refuses.</param>
    /// <param name="onBatch">Told each batch's size and how many requests were still waiting when it started (metrics).</param>
    /// <param name="minConcurrentBatch">Fewest waiting requests for which a worker starts a batch while another batch is in
    /// flight (1: whatever waits). With no batch in flight, a worker takes even a lone request at once.</param>
    /// <param name="failsQueue">Whether a batch's exception fails every request still waiting as well (null: never).</param>
    public Coalescer(Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> run, int maxBatch, int workers, int capacity = 1024,
        Action<int, int>? onBatch = null, int minConcurrentBatch = 1, Func<Exception, bool>? failsQueue = null)
    {
        _failsQueue = failsQueue;
        ArgumentOutOfRangeException.ThrowIfLessThan(minConcurrentBatch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minConcurrentBatch, maxBatch);
        _minConcurrentBatch = minConcurrentBatch;
        _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
        _run = run;
        _maxBatch = maxBatch;
        _onBatch = onBatch;
        using (ExecutionContext.SuppressFlow()) // the workers serve every request: none may inherit its creator's ambient state
        {
            _workers = Enumerable.Range(0, workers).Select(_ => Task.Run(WorkAsync)).ToArray();
        }
    }

    /// <summary>Workers waiting for enough requests to start a batch beside the one in flight (for tests).</summary>
    internal int WorkersGathering => Volatile.Read(ref _waitingWorkers);

    /// <summary>Queues <paramref name="item"/> for the next batch; false when the queue is full.</summary>
    public bool TryRun(TItem item, out Task<TResult> result)
    {
        var entry = new Entry(item);
        if (!_queue.Writer.TryWrite(entry))
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            result = Task.FromResult(default(TResult)!);
            return false;
        }

        result = entry.Completion.Task;
        if (Volatile.Read(ref _waitingWorkers) > 0 && _queue.Reader.Count >= _minConcurrentBatch)
        {
            WakeOneWorker();
        }

        return true;
    }

    /// <summary>Takes back one worker's "waiting"; false when a waker took it first (and released a permit for it).</summary>
    private bool TryStopWaiting()
    {
        var waiting = Volatile.Read(ref _waitingWorkers);
        while (waiting > 0)
        {
            var seen = Interlocked.CompareExchange(ref _waitingWorkers, waiting - 1, waiting);
            if (seen == waiting)
            {
                return true;
            }

            waiting = seen;
        }

        return false;
    }

    /// <summary>Wakes one worker that waits for a batch to gather, if one still does.</summary>
    private void WakeOneWorker()
    {
        if (TryStopWaiting())
        {
            _gathered.Release();
        }
    }

    private async Task WorkAsync()
    {
        var batch = new List<Entry>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            if (_minConcurrentBatch > 1 && Volatile.Read(ref _inFlight) > 0 && _queue.Reader.Count < _minConcurrentBatch && !_disposed)
            {
                // Another batch is in flight and too few wait for a second one: wait until enough do (TryRun wakes one
                // worker), or leave them to the batch in flight, whose worker takes what waits when it ends. Checked again
                // once this worker is counted as waiting, so a request that arrived in between is not missed.
                Interlocked.Increment(ref _waitingWorkers);
                if ((Volatile.Read(ref _inFlight) > 0 && _queue.Reader.Count < _minConcurrentBatch && !_disposed) || !TryStopWaiting())
                {
                    await _gathered.WaitAsync(); // when TryStopWaiting failed, a waker has already released this permit
                }

                continue;
            }

            Interlocked.Increment(ref _inFlight); // before taking, so the other worker sees this batch at once
            batch.Clear();
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }

            if (batch.Count == 0)
            {
                Interlocked.Decrement(ref _inFlight);
                continue; // another worker took them
            }

            try
            {
                _onBatch?.Invoke(batch.Count, _queue.Reader.Count);
            }
            catch (Exception)
            {
                // Metrics never stop a worker: an exception here would end its loop and leave every later request waiting.
            }

            try
            {
                var results = await _run(batch.Select(e => e.Item).ToList());
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(results[i]);
                }
            }
            catch (Exception e)
            {
                foreach (var entry in batch)
                {
                    entry.Completion.TrySetException(e);
                }

                if (_failsQueue?.Invoke(e) == true)
                {
                    // What waits now was queued while this batch hung or failed: answered at once rather than each in a batch
                    // that would meet the same unreachable database. A request queued after this is tried as usual.
                    while (_queue.Reader.TryRead(out var waiting))
                    {
                        waiting.Completion.TrySetException(e);
                    }
                }
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _queue.Writer.TryComplete();
        _gathered.Release(_workers.Length); // a worker waiting for a batch to gather finds the queue completed
        Task.WaitAll(_workers, TimeSpan.FromSeconds(10));
    }

    private sealed class Entry(TItem item)
    {
        public TItem Item => item;

        // Callers continue on the thread pool, never inline on the worker that completes the batch.
        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
