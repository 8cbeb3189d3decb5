package dev.mnv3.cpu.fast;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that run the tasks of one parallel step together with the caller.
 * Batch-1 inference has dozens of steps of a few hundred microseconds each, so handing work over
 * must cost microseconds: idle workers spin for a while (measured in time: a PAUSE instruction
 * lasts 3 cycles on some CPUs and 140 on others) before they park, tasks are claimed from a
 * shared counter so that uneven tasks balance themselves, and the caller waits for the tasks,
 * not for workers that are still waking up. A parked worker sleeps until the next step unparks
 * it, so a model between calls uses no CPU.
 */
final class WorkerPool implements AutoCloseable {
    /** A step's body: {@code task} in [0, tasks), {@code worker} in [0, size()) names the thread's scratch space. */
    interface Task {
        void run(int task, int worker);
    }

    private static final long SPIN_NANOS = 300_000;

    /** One step, published to the workers through a single volatile write. */
    private static final class Job {
        final Task body;
        final int count;
        /** Task i runs on worker i: the same thread touches the same rows in every layer. */
        final boolean pinned;
        final AtomicInteger next = new AtomicInteger();
        final AtomicIntegerArray claimed;
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(Task body, int count, boolean pinned) {
            this.body = body;
            this.count = count;
            this.pinned = pinned;
            this.claimed = pinned ? new AtomicIntegerArray(count) : null;
        }

        /**
         * Runs this worker's own task, or claims and runs tasks until none are left. A pinned
         * job's caller (worker 0) also takes over the tasks of workers that have not started
         * theirs, so that a thread the OS has not scheduled yet delays nothing.
         */
        void work(int worker) {
            if (!pinned) {
                for (int t; (t = next.getAndIncrement()) < count; ) run(t, worker);
                return;
            }
            if (worker < count && claim(worker)) run(worker, worker);
            if (worker == 0) {
                for (int t = 1; t < count; t++) if (claim(t)) run(t, worker);
            }
        }

        /** Marks task t as taken; false if another thread took it first. */
        private boolean claim(int t) {
            return claimed.compareAndSet(t, 0, 1);
        }

        private void run(int t, int worker) {
            try {
                body.run(t, worker);
            } catch (Throwable e) {
                failure = e;
            } finally {
                done.incrementAndGet();
            }
        }
    }

    private final Thread[] workers;
    private volatile Job job;
    private volatile boolean closed;

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

    /** Runs body for every task in [0, count) across all threads, claimed as they free up; returns when all are done. */
    void run(int count, Task body) {
        submit(count, body, false);
    }

    /**
     * Runs task i on worker i for i in [0, size()): each thread keeps working on the same part
     * of the image from layer to layer, so the rows it reads are mostly the rows it wrote, still
     * in its own caches. (The two cores of a small VM may sit on different L3 caches.)
     */
    void runPinned(Task body) {
        submit(size(), body, true);
    }

    private synchronized void submit(int count, Task body, boolean pinned) {
        if (closed) throw new IllegalStateException("the model was closed");
        if (count == 1 || workers.length == 0) {
            for (int t = 0; t < count; t++) body.run(t, 0);
            return;
        }
        Job j = new Job(body, count, pinned);
        job = j;
        for (Thread t : workers) LockSupport.unpark(t);
        j.work(0);
        while (j.done.get() < count) Thread.onSpinWait();
        Throwable f = j.failure;
        if (f instanceof RuntimeException re) throw re;
        if (f instanceof Error e) throw e;
    }

    private void loop(int worker) {
        Job seen = null;
        while (!closed) {
            Job j = job;
            if (j != seen) {
                seen = j;
                j.work(worker);
                continue;
            }
            long idleSince = System.nanoTime();
            while (job == seen && !closed) {
                // no lost wake-up: submit and close unpark every worker after publishing, and a
                // permit given before park() makes it return at once
                if (System.nanoTime() - idleSince < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.park(this);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : workers) LockSupport.unpark(t);
    }
}
