using System.Diagnostics;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor;
using Npgsql;

namespace AuthService.Tests.Storage;

/// <summary>The batching of the login path: what is queued while a batch runs travels together, results go back to
/// the right caller, a failing batch fails only its own callers, and a lone request does not wait for company.</summary>
public class CoalescerTests
{
    [Test]
    public async Task Requests_queued_while_a_batch_runs_go_together_in_the_next_one()
    {
        var held = new HeldFirstBatch();
        using var coalescer = new Coalescer<int, int>(held.RunAsync, maxBatch: 64, workers: 1);

        var first = Run(coalescer, 0);
        await held.FirstStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var rest = Enumerable.Range(1, 30).Select(i => Run(coalescer, i)).ToList(); // queued behind the running batch
        held.ReleaseFirst.SetResult();

        Assert.That(await first, Is.EqualTo(0));
        Assert.That(await Task.WhenAll(rest), Is.EqualTo(Enumerable.Range(1, 30).Select(i => i * 10)));
        Assert.That(held.Batches, Has.Count.EqualTo(2));
        Assert.That(held.Batches[0], Is.EqualTo(new[] { 0 }));
        Assert.That(held.Batches[1], Is.EquivalentTo(Enumerable.Range(1, 30)));
    }

    /// <summary>The metrics hook (<c>authservice_login_batch_size</c>, <c>authservice_login_queue_waiting</c>) hears each
    /// batch's real size and what was still queued behind it: 30 requests queued behind a running batch, taken 8 at a time,
    /// leave 22, 14, 6 and then 0 waiting.</summary>
    [Test]
    public async Task Each_batch_reports_its_size_and_what_still_waits()
    {
        var reported = new List<(int Size, int Waiting)>();
        var firstStarted = new TaskCompletionSource();
        var releaseFirst = new TaskCompletionSource();
        using var coalescer = new Coalescer<int, int>(async items =>
        {
            if (items.Contains(0))
            {
                firstStarted.TrySetResult();
                await releaseFirst.Task;
            }

            return items.ToList();
        }, maxBatch: 8, workers: 1, onBatch: (size, waiting) =>
        {
            lock (reported)
            {
                reported.Add((size, waiting));
            }
        });

        var first = Run(coalescer, 0);
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var rest = Enumerable.Range(1, 30).Select(i => Run(coalescer, i)).ToList();
        releaseFirst.SetResult();
        await first;
        await Task.WhenAll(rest);

        Assert.That(reported, Is.EqualTo(new[] { (1, 0), (8, 22), (8, 14), (8, 6), (6, 0) }));
    }

    /// <summary>A metrics hook that throws costs the metric, never the worker: later requests are still answered.</summary>
    [Test]
    public async Task A_throwing_metrics_hook_does_not_stop_the_workers()
    {
        using var coalescer = new Coalescer<int, int>(items => Task.FromResult<IReadOnlyList<int>>(items.Select(i => i + 1).ToList()),
            maxBatch: 8, workers: 1, onBatch: (_, _) => throw new InvalidOperationException("metrics broke"));

        for (var i = 0; i < 3; i++)
        {
            Assert.That(await Run(coalescer, i).WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(i + 1), $"request {i}");
        }
    }

    [Test]
    public async Task A_batch_never_exceeds_its_size()
    {
        var sizes = new List<int>();
        var gate = new TaskCompletionSource();
        using var coalescer = new Coalescer<int, int>(async items =>
        {
            lock (sizes)
            {
                sizes.Add(items.Count);
            }

            await gate.Task;
            return items.ToList();
        }, maxBatch: 8, workers: 2);

        var all = Enumerable.Range(0, 50).Select(i => Run(coalescer, i)).ToList();
        gate.SetResult();

        Assert.That(await Task.WhenAll(all), Is.EqualTo(Enumerable.Range(0, 50)));
        Assert.That(sizes.Sum(), Is.EqualTo(50));
        Assert.That(sizes, Has.All.LessThanOrEqualTo(8));
    }

    [Test]
    public async Task A_failing_batch_fails_its_callers_and_the_next_batch_still_runs()
    {
        using var coalescer = new Coalescer<int, int>(items =>
            items.Contains(-1) ? throw new InvalidOperationException("database gone") : Task.FromResult<IReadOnlyList<int>>(items.ToList()),
            maxBatch: 64, workers: 1);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => Run(coalescer, -1));
        Assert.That(failure!.Message, Is.EqualTo("database gone"));
        Assert.That(await Run(coalescer, 7), Is.EqualTo(7));
    }

    /// <summary>A batch whose exception says the database is unreachable fails every request queued behind it as well, at once,
    /// without a batch of their own (each would wait out the same timeout); any other exception fails only its batch, and what
    /// waits runs as usual. A request queued after the failure is tried again.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task An_unreachable_database_fails_what_waits_and_another_failure_only_its_batch(bool unreachable)
    {
        var started = new TaskCompletionSource();
        var fail = new TaskCompletionSource();
        var batches = new List<int[]>();
        using var coalescer = new Coalescer<int, int>(async items =>
        {
            lock (batches)
            {
                batches.Add(items.ToArray());
            }

            if (items.Contains(0))
            {
                started.TrySetResult();
                await fail.Task;
                throw new InvalidOperationException(unreachable ? "unreachable" : "this batch only");
            }

            return items.ToList();
        }, maxBatch: 64, workers: 1, failsQueue: e => e.Message == "unreachable");

        var first = Run(coalescer, 0);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var waiting = Enumerable.Range(1, 5).Select(i => Run(coalescer, i)).ToList();
        fail.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        if (unreachable)
        {
            foreach (var request in waiting)
            {
                var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => request.WaitAsync(TimeSpan.FromSeconds(10)));
                Assert.That(failure!.Message, Is.EqualTo("unreachable"));
            }
        }
        else
        {
            Assert.That(await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
        }

        Assert.That(await Run(coalescer, 6).WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(6), "a request after the failure is tried");
        lock (batches)
        {
            Assert.That(batches.SelectMany(b => b), Is.EqualTo(unreachable ? new[] { 0, 6 } : new[] { 0, 1, 2, 3, 4, 5, 6 }));
        }
    }

    /// <summary>Which batch failures fail the logins queued behind them (<c>ProofCheck.StoppedAnswering</c>): only a database
    /// that did not answer in time; a refused or broken connection, or the server's own error, fails only its batch.</summary>
    [Test]
    public void Only_a_database_that_stopped_answering_fails_the_logins_that_wait()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ProofCheck.StoppedAnswering(new NpgsqlException("Exception while reading from stream", new TimeoutException())), Is.True);
            Assert.That(ProofCheck.StoppedAnswering(new NpgsqlException("The operation has timed out", new TimeoutException())), Is.True);
            Assert.That(ProofCheck.StoppedAnswering(new NpgsqlException("refused", new System.Net.Sockets.SocketException(111))), Is.False);
            Assert.That(ProofCheck.StoppedAnswering(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())), Is.False);
            foreach (var state in new[] { "57P01", "08006", "53300", "40P01", "25006" })
            {
                Assert.That(ProofCheck.StoppedAnswering(new PostgresException("x", "FATAL", "FATAL", state)), Is.False, state);
            }

            Assert.That(ProofCheck.StoppedAnswering(new TimeoutException()), Is.False);
        });
    }

    [Test]
    public void After_dispose_a_request_is_refused_rather_than_left_waiting()
    {
        var coalescer = new Coalescer<int, int>(items => Task.FromResult<IReadOnlyList<int>>(items.ToList()), maxBatch: 64, workers: 2);
        coalescer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => Run(coalescer, 1));
    }

    [Test]
    public async Task A_full_queue_refuses_at_once_and_takes_requests_again_once_it_drains()
    {
        var gate = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        using var coalescer = new Coalescer<int, int>(async items =>
        {
            started.TrySetResult();
            await gate.Task;
            return items.ToList();
        }, maxBatch: 4, workers: 1, capacity: 3);

        var running = Run(coalescer, 0); // taken by the worker, which now blocks
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var queued = Enumerable.Range(1, 3).Select(i => Run(coalescer, i)).ToList();

        Assert.That(coalescer.TryRun(99, out _), Is.False, "the fourth waiting request");
        gate.SetResult();
        Assert.That(await running, Is.EqualTo(0));
        Assert.That(await Task.WhenAll(queued), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(await Run(coalescer, 5), Is.EqualTo(5));
    }

    /// <summary>Callers continue on the thread pool, never inline on the worker: a caller that blocks in its continuation (here
    /// until the test ends) never holds up the next batch. It fails when the worker runs its callers' continuations itself
    /// (tried: a batch's answers given inline by the worker blocked it, and the second request was never run).</summary>
    [Test]
    public async Task A_caller_blocked_in_its_continuation_does_not_hold_up_the_next_batch()
    {
        using var release = new ManualResetEventSlim();
        using var coalescer = new Coalescer<int, int>(items => Task.FromResult<IReadOnlyList<int>>(items.Select(i => i * 10).ToList()),
            maxBatch: 64, workers: 1);
        var blocking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = Run(coalescer, 1).ContinueWith(t =>
        {
            blocking.TrySetResult();
            release.Wait(TimeSpan.FromSeconds(30));
            return t.Result;
        }, TaskContinuationOptions.ExecuteSynchronously);
        try
        {
            await blocking.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the first batch is answered; its caller now blocks that thread
            Assert.That(await Run(coalescer, 2).WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(20), "the next batch runs and is answered");
        }
        finally
        {
            release.Set();
        }

        Assert.That(await first, Is.EqualTo(10));
    }

    /// <summary>While one batch is in flight, the second worker starts a batch only once <c>minConcurrentBatch</c> requests
    /// wait: one queued request does not start one (the worker waits for company), the fourth does, and the second batch
    /// holds all four. It fails when the second worker takes whatever waits (tried: its batch was the first request alone).</summary>
    [Test]
    public async Task A_second_batch_in_flight_waits_until_enough_requests_have_gathered()
    {
        var held = new HeldFirstBatch();
        using var coalescer = new Coalescer<int, int>(held.RunAsync, maxBatch: 64, workers: 2, minConcurrentBatch: 4);

        var first = Run(coalescer, 0);
        await held.FirstStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var gathered = new List<Task<int>> { Run(coalescer, 1) };
        var deadline = Stopwatch.StartNew();
        while (coalescer.WorkersGathering == 0 && !held.OtherStarted.Task.IsCompleted && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Yield(); // until the second worker has seen the lone request and either waits or takes it
        }

        Assert.That(held.OtherStarted.Task.IsCompleted, Is.False, "a second batch started for one waiting request");
        Assert.That(coalescer.WorkersGathering, Is.EqualTo(1));
        gathered.AddRange(Enumerable.Range(2, 3).Select(i => Run(coalescer, i)));

        await held.OtherStarted.Task.WaitAsync(TimeSpan.FromSeconds(10)); // with the first batch still in flight
        Assert.That(await Task.WhenAll(gathered).WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(new[] { 10, 20, 30, 40 }));
        held.ReleaseFirst.SetResult();
        Assert.That(await first, Is.EqualTo(0));
        Assert.That(held.Batches, Has.Count.EqualTo(2));
        Assert.That(held.Batches[1], Is.EquivalentTo(new[] { 1, 2, 3, 4 }));
    }

    /// <summary>Too few requests for a second batch are not left waiting: the batch in flight takes them when it ends.</summary>
    [Test]
    public async Task Requests_too_few_for_a_second_batch_are_taken_when_the_batch_in_flight_ends()
    {
        var held = new HeldFirstBatch();
        using var coalescer = new Coalescer<int, int>(held.RunAsync, maxBatch: 64, workers: 2, minConcurrentBatch: 4);

        var first = Run(coalescer, 0);
        await held.FirstStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var few = Enumerable.Range(1, 2).Select(i => Run(coalescer, i)).ToList();
        held.ReleaseFirst.SetResult();

        Assert.That(await first, Is.EqualTo(0));
        Assert.That(await Task.WhenAll(few).WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(new[] { 10, 20 }));
        Assert.That(await Run(coalescer, 3).WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(30), "and a lone request later is taken at once");
    }

    [TestCase(0)]
    [TestCase(65)]
    public void A_second_batch_size_outside_one_to_the_batch_size_is_refused(int minConcurrentBatch) =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new Coalescer<int, int>(items => Task.FromResult<IReadOnlyList<int>>(items.ToList()), maxBatch: 64, workers: 2,
                minConcurrentBatch: minConcurrentBatch).Dispose());

    /// <summary>A batch runner that records every batch and holds the batch with request 0 until released; answers i × 10.</summary>
    private sealed class HeldFirstBatch
    {
        public List<int[]> Batches { get; } = [];
        public TaskCompletionSource FirstStarted { get; } = new();
        public TaskCompletionSource OtherStarted { get; } = new();
        public TaskCompletionSource ReleaseFirst { get; } = new();

        public async Task<IReadOnlyList<int>> RunAsync(IReadOnlyList<int> items)
        {
            lock (Batches)
            {
                Batches.Add(items.ToArray());
            }

            if (items.Contains(0))
            {
                FirstStarted.TrySetResult();
                await ReleaseFirst.Task;
            }
            else
            {
                OtherStarted.TrySetResult();
            }

            return items.Select(i => i * 10).ToList();
        }
    }

    private static Task<int> Run(Coalescer<int, int> coalescer, int item) =>
        coalescer.TryRun(item, out var result) ? result : throw new InvalidOperationException("queue full");
}
