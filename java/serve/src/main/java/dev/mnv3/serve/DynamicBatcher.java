package dev.mnv3.serve;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Combines requests into batches. Requests wait in one bounded FIFO queue; one worker thread per
 * model instance takes the oldest request and every later one of the same shape (image size, and
 * whether feature maps are wanted) that still fits in the max batch size, waiting up to the max
 * queue delay after the oldest arrived for more to come, unless the batch is full first. The
 * batch runs on that worker's instance, padded with zero images to the policy's next padded size,
 * and each request gets its own rows back. Requests of another shape stay queued in order, so
 * the oldest request always starts the next batch and none starves.
 *
 * <p>One worker forms a batch at a time (the others wait their turn), so two idle instances never
 * split a batch between them; while one instance computes, the next batch forms on another.
 */
public final class DynamicBatcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(DynamicBatcher.class.getName());

    /** What may share a batch: the same image size, and whether the feature maps are wanted (a traced run). */
    record Shape(int height, int width, boolean features) {
    }

    /**
     * What a request gets back: its rows of the batch's logits (and feature maps when asked for),
     * how long it waited in the queue, how long its batch computed, and how many real images that
     * batch held.
     */
    public record Result(Tensor logits, List<Tensor> features, long queueNanos, long computeNanos, int batchImages) {
    }

    private static final class Job {
        final InputImages input;
        final Shape shape;
        final long enqueued = System.nanoTime();
        final CompletableFuture<Result> done = new CompletableFuture<>();

        Job(InputImages input, boolean features) {
            this.input = input;
            this.shape = new Shape(input.height(), input.width(), features);
        }

        int images() {
            return input.count();
        }
    }

    private final Graph graph;
    private final BatchPolicy policy;
    private final BatchObserver observer;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a request arrives, a batch finishes, or the batcher stops accepting or closes. */
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    /** Held by the one worker forming a batch. */
    private final ReentrantLock forming = new ReentrantLock(true);
    private final List<Thread> workers = new ArrayList<>();
    private int running;
    private boolean accepting = true, delaying = true, closed;

    /** One worker per entry of {@code instances} (an entry may repeat: a CUDA model serves several callers at once). */
    public DynamicBatcher(Graph graph, List<? extends CompiledModel> instances, BatchPolicy policy, BatchObserver observer) {
        if (instances.isEmpty()) throw new IllegalArgumentException("the batcher needs at least one model instance");
        this.graph = graph;
        this.policy = policy;
        this.observer = observer;
        for (int i = 0; i < instances.size(); i++) {
            CompiledModel model = instances.get(i);
            workers.add(Thread.ofPlatform().daemon().name("mnv3-batcher-" + i).start(() -> work(model)));
        }
    }

    public BatchPolicy policy() {
        return policy;
    }

    /** {@link #submit(InputImages, boolean)} of a tensor [N, 3, H, W]. */
    public CompletableFuture<Result> submit(Tensor input, boolean features) {
        return submit(InputImages.of(input), features);
    }

    /**
     * Queues {@code input} (at most the max batch size of images). Throws
     * {@link ServeError.Kind#OVERLOADED} when the queue is full and {@link ServeError.Kind#UNAVAILABLE}
     * once the batcher drains.
     */
    public CompletableFuture<Result> submit(InputImages input, boolean features) {
        if (input.count() > policy.maxBatchSize()) {
            throw new IllegalArgumentException("a request holds 1 to " + policy.maxBatchSize() + " images, got " + input.count());
        }
        Job job = new Job(input, features);
        lock.lock();
        try {
            if (!accepting) throw new ServeError(ServeError.Kind.UNAVAILABLE, "the server is shutting down");
            if (queue.size() >= policy.queueLimit()) throw queueFull();
            queue.addLast(job);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return job.done;
    }

    /**
     * From now on batches form from what is queued without waiting the queue delay for more
     * requests (a shutdown: no more are coming). Requests are still accepted.
     */
    public void stopDelaying() {
        lock.lock();
        try {
            delaying = false;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** OVERLOADED when the queue is full now: a request is refused before any of its work is done. */
    public void requireRoom() {
        lock.lock();
        try {
            if (queue.size() >= policy.queueLimit()) throw queueFull();
        } finally {
            lock.unlock();
        }
    }

    private ServeError queueFull() {
        return new ServeError(ServeError.Kind.OVERLOADED, "the queue is full (" + policy.queueLimit() + " requests waiting); retry later");
    }

    /** False once draining or closed. */
    boolean accepting() {
        lock.lock();
        try {
            return accepting;
        } finally {
            lock.unlock();
        }
    }

    /** Requests waiting to be batched. */
    public int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Refuses new requests and waits up to {@code timeout} until every queued request has run;
     * true when all did. Batches form without waiting for the delay from now on.
     */
    public boolean drain(Duration timeout) {
        lock.lock();
        try {
            accepting = false;
            delaying = false;
            changed.signalAll();
            long left = timeout.toNanos();
            while ((!queue.isEmpty() || running > 0) && left > 0) left = changed.awaitNanos(left);
            return queue.isEmpty() && running == 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Stops the workers after the batches they run; requests still queued fail as UNAVAILABLE. */
    @Override
    public void close() {
        List<Job> left;
        lock.lock();
        try {
            accepting = false;
            delaying = false;
            closed = true;
            left = new ArrayList<>(queue);
            queue.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        for (Job j : left) j.done.completeExceptionally(new ServeError(ServeError.Kind.UNAVAILABLE, "the server is shutting down"));
        for (Thread t : workers) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void work(CompiledModel model) {
        while (true) {
            List<Job> batch;
            try {
                forming.lockInterruptibly();
                try {
                    batch = nextBatch();
                } finally {
                    forming.unlock();
                }
            } catch (InterruptedException e) {
                return;
            }
            if (batch == null) return;
            try {
                run(model, batch);
            } finally {
                lock.lock();
                try {
                    running--;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** The next batch, taken off the queue; null once closed. */
    private List<Job> nextBatch() throws InterruptedException {
        lock.lock();
        try {
            while (queue.isEmpty()) {
                if (closed) return null;
                changed.await();
            }
            Job head = queue.peekFirst();
            long deadline = head.enqueued + policy.maxQueueDelayNanos();
            while (delaying && fittingImages(head.shape) < policy.maxBatchSize()) {
                long wait = deadline - System.nanoTime();
                if (wait <= 0) break;
                changed.awaitNanos(wait);
            }
            List<Job> batch = take(head.shape);
            running++;
            return batch;
        } finally {
            lock.unlock();
        }
    }

    /** Images of the queued requests of {@code shape} that fit in one batch, taken in order. */
    private int fittingImages(Shape shape) {
        int images = 0;
        for (Job j : queue) {
            if (!j.shape.equals(shape)) continue;
            if (images + j.images() > policy.maxBatchSize()) break;
            images += j.images();
        }
        return images;
    }

    private List<Job> take(Shape shape) {
        List<Job> batch = new ArrayList<>();
        int images = 0;
        for (Iterator<Job> it = queue.iterator(); it.hasNext(); ) {
            Job j = it.next();
            if (!j.shape.equals(shape)) continue;
            if (images + j.images() > policy.maxBatchSize()) break;
            images += j.images();
            batch.add(j);
            it.remove();
        }
        return batch;
    }

    private void run(CompiledModel model, List<Job> batch) {
        int images = 0;
        for (Job j : batch) images += j.images();
        int padded = policy.paddedSize(images);
        Shape shape = batch.getFirst().shape;
        long start = System.nanoTime();
        try {
            Tensor asIs = batch.size() == 1 && padded == images ? batch.getFirst().input.whole() : null;
            Tensor input = asIs != null ? asIs : concat(batch, padded);
            Tensor logits;
            List<Tensor> features = null;
            if (shape.features()) {
                Map<String, Tensor> trace = model.trace(input);
                logits = trace.get(graph.outputNode());
                features = new ArrayList<>();
                for (FeatureLevel l : graph.featureLevels()) features.add(trace.get(l.node()));
            } else {
                logits = model.run(input);
            }
            long compute = System.nanoTime() - start;
            long[] queued = new long[batch.size()];
            List<Result> results = new ArrayList<>(batch.size());
            int row = 0;
            for (int i = 0; i < batch.size(); i++) {
                Job j = batch.get(i);
                int n = j.images();
                boolean whole = n == padded;
                List<Tensor> own = null;
                if (features != null) {
                    own = new ArrayList<>();
                    for (Tensor f : features) own.add(whole ? f : f.slice(row, row + n));
                }
                queued[i] = start - j.enqueued;
                results.add(new Result(whole ? logits : logits.slice(row, row + n), own, queued[i], compute, images));
                row += n;
            }
            // counted before anyone is answered, so that a client reading the metrics after its answer finds its batch
            observer.batchCompleted(batch.size(), images, padded, compute, queued);
            for (int i = 0; i < batch.size(); i++) batch.get(i).done.complete(results.get(i));
        } catch (RuntimeException | Error e) {
            // the requests fail, the worker goes on with the next batch
            LOG.log(Level.WARNING, "a batch of " + images + " images failed in the model", e);
            observer.batchFailed(batch.size(), images, System.nanoTime() - start);
            for (Job j : batch) j.done.completeExceptionally(e);
        }
    }

    /** The batch's images one after another (each request's parts copied once), then zero images up to {@code padded}. */
    private static Tensor concat(List<Job> batch, int padded) {
        InputImages first = batch.getFirst().input;
        Tensor out = Tensor.zeros(padded, Graph.INPUT_CHANNELS, first.height(), first.width());
        int at = 0;
        for (Job j : batch) {
            for (float[] part : j.input.parts()) {
                System.arraycopy(part, 0, out.data(), at, part.length);
                at += part.length;
            }
        }
        return out;
    }
}
