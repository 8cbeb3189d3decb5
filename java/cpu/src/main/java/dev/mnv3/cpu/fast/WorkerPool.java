package dev.mnv3.cpu.fast;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that run the tasks of one parallel step together with the caller.
 * Batch-1 inference has dozens of steps of a few hundred microseconds each, so handing work over
 * must cost microseconds: workers spin briefly on a generation counter before parking, and tasks
 * are claimed from a shared counter so that uneven tasks balance themselves.
 */
final class WorkerPool implements AutoCloseable {
    /** A step's body: {@code task} in [0, tasks), {@code worker} in [0, size()) names the thread's scratch space. */
    interface Task {
        void run(int task, int worker);
    }

    private static final int SPINS_BEFORE_PARK = 20_000;

    private final Thread[] workers;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger unfinished = new AtomicInteger();
    private volatile int generation;
    private volatile Task task;
    private volatile int tasks;
    private volatile boolean closed;
    private volatile Throwable failure;

    WorkerPool(int threads) {
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int worker = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("mnv3-cpu-" + worker).unstarted(() -> loop(worker));
            workers[i].start();
        }
    }

    int size() {
        return workers.length + 1;
    }

    /** Runs body for every task in [0, count) across all threads; returns when all are done. Not reentrant. */
    synchronized void run(int count, Task body) {
        if (closed) throw new IllegalStateException("the model was closed");
        if (count == 1 || workers.length == 0) {
            for (int t = 0; t < count; t++) body.run(t, 0);
            return;
        }
        failure = null;
        task = body;
        tasks = count;
        next.set(0);
        unfinished.set(workers.length + 1);
        generation++;
        for (Thread t : workers) LockSupport.unpark(t);
        work(0, body, count);
        int spins = 0;
        while (unfinished.get() > 0) {
            if (++spins > SPINS_BEFORE_PARK) Thread.yield();
            else Thread.onSpinWait();
        }
        task = null;
        Throwable f = failure;
        if (f instanceof RuntimeException re) throw re;
        if (f instanceof Error e) throw e;
    }

    private void work(int worker, Task body, int count) {
        try {
            for (int t; (t = next.getAndIncrement()) < count; ) body.run(t, worker);
        } catch (Throwable e) {
            failure = e;
            next.set(count);
        } finally {
            unfinished.decrementAndGet();
        }
    }

    private void loop(int worker) {
        int seen = 0;
        while (true) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins > SPINS_BEFORE_PARK) LockSupport.parkNanos(this, 1_000_000);
                else Thread.onSpinWait();
            }
            if (closed) return;
            seen = generation;
            work(worker, task, tasks);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : workers) LockSupport.unpark(t);
    }
}
