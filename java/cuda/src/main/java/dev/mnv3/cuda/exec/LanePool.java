package dev.mnv3.cuda.exec;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Supplier;

/**
 * Up to {@code max} independent execution lanes (for {@code CudaModel}: a stream, a cuDNN handle
 * and the plans built on them), handed out one caller at a time. Lanes are created on first
 * demand, so a model used from one thread holds one. A caller that finds every lane busy waits
 * for one; {@link #close()} waits for the lanes in use to come back, then closes them all. Pure
 * Java, so the concurrency is tested without a GPU.
 */
public final class LanePool<L extends AutoCloseable> implements AutoCloseable {
    private final int max;
    private final Supplier<L> factory;
    private final Deque<L> idle = new ArrayDeque<>();
    private final List<L> all = new ArrayList<>();
    /** Lanes handed out, and lanes being created outside the lock. */
    private int busy, creating;
    private boolean closed;

    public LanePool(int max, Supplier<L> factory) {
        if (max < 1) throw new IllegalArgumentException("a lane pool needs at least one lane, got " + max);
        this.max = max;
        this.factory = factory;
    }

    /** A lane for this caller alone until {@link #release}; creates one if none is idle and fewer than max exist. */
    public L acquire() throws InterruptedException {
        synchronized (this) {
            while (true) {
                if (closed) throw new IllegalStateException("this CUDA model is closed");
                L lane = idle.pollFirst();
                if (lane != null) {
                    busy++;
                    return lane;
                }
                if (all.size() + creating < max) break;
                wait();
            }
            creating++;
        }
        L lane = null;
        try {
            lane = factory.get();
        } finally {
            synchronized (this) {
                creating--;
                if (lane != null) {
                    all.add(lane);
                    busy++;
                }
                notifyAll();
            }
        }
        return lane;
    }

    public synchronized void release(L lane) {
        busy--;
        idle.addFirst(lane); // the most recently used lane first: its plans and caches are warm
        notifyAll();
    }

    /** Lanes created so far. */
    public synchronized int size() {
        return all.size();
    }

    /** Waits for every lane in use, then closes them all, reporting the first failure. */
    @Override
    public void close() {
        List<L> lanes;
        synchronized (this) {
            if (closed) return;
            closed = true;
            boolean interrupted = false;
            while (busy > 0 || creating > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            lanes = new ArrayList<>(all);
            all.clear();
            idle.clear();
        }
        RuntimeException first = null;
        for (L l : lanes) {
            try {
                l.close();
            } catch (Exception e) {
                if (first == null) first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
        }
        if (first != null) throw first;
    }
}
