package dev.mnv3.serve;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts and cumulative durations as Triton's statistics extension reports them
 * ({@code GET /v2/models/{name}/stats}): requests that succeeded and failed (end to end), their
 * queue and compute time, images and batches run, and per batch size the batches and their time.
 */
public final class ModelStatistics implements BatchObserver {
    /** A count and the nanoseconds summed over it. */
    public record Duration(long count, long ns) {
    }

    /** A consistent-enough copy for one response. */
    public record Snapshot(long lastInferenceMillis, long inferenceCount, long executionCount, Duration success, Duration fail,
                           Duration queue, Duration computeInfer, Map<Integer, Duration> batches) {
    }

    private static final class Adder {
        final LongAdder count = new LongAdder(), ns = new LongAdder();

        void add(long n, long nanos) {
            count.add(n);
            ns.add(nanos);
        }

        Duration get() {
            return new Duration(count.sum(), ns.sum());
        }
    }

    private final Adder success = new Adder(), fail = new Adder(), queue = new Adder(), compute = new Adder();
    private final LongAdder inferences = new LongAdder(), executions = new LongAdder();
    private final ConcurrentSkipListMap<Integer, Adder> batches = new ConcurrentSkipListMap<>();
    private volatile long lastInferenceMillis;

    public void requestSucceeded(long nanos) {
        success.add(1, nanos);
        lastInferenceMillis = System.currentTimeMillis();
    }

    public void requestFailed(long nanos) {
        fail.add(1, nanos);
    }

    @Override
    public void batchCompleted(int requests, int images, int paddedImages, long computeNanos, long[] queueNanos) {
        for (long q : queueNanos) queue.add(1, q);
        // as Triton counts it: every request of the batch spent the batch's compute time
        compute.add(requests, computeNanos * requests);
        inferences.add(images);
        executions.increment();
        batches.computeIfAbsent(images, k -> new Adder()).add(1, computeNanos);
    }

    @Override
    public void batchFailed(int requests, int images, long computeNanos) {
        executions.increment();
    }

    public Snapshot snapshot() {
        Map<Integer, Duration> perSize = new TreeMap<>();
        batches.forEach((size, a) -> perSize.put(size, a.get()));
        return new Snapshot(lastInferenceMillis, inferences.sum(), executions.sum(), success.get(), fail.get(), queue.get(),
                compute.get(), perSize);
    }
}
