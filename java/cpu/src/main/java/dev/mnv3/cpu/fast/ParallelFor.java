package dev.mnv3.cpu.fast;

/** How a step's rows run: all on one thread, or split across the pool. */
interface ParallelFor {
    interface Range {
        /** Rows [from, to) on worker {@code worker} (whose scratch buffers it may use). */
        void run(int from, int to, int worker);
    }

    void rows(int n, int grain, Range r);

    /** How many threads share the rows. */
    int threads();

    static ParallelFor serial(int worker) {
        return new ParallelFor() {
            @Override
            public void rows(int n, int grain, Range r) {
                r.run(0, n, worker);
            }

            @Override
            public int threads() {
                return 1;
            }
        };
    }

    static ParallelFor pooled(WorkerPool pool) {
        int threads = pool.size();
        return new ParallelFor() {
            @Override
            public void rows(int n, int grain, Range r) {
                // one contiguous share per thread, the same share in every layer (see runPinned)
                int units = (n + grain - 1) / grain;
                if (units <= 1) { // one share (one image's SE squeeze): not worth a hand-over
                    if (n > 0) r.run(0, n, 0);
                    return;
                }
                pool.runPinned((t, worker) -> {
                    int from = Math.min(n, units * t / threads * grain), to = Math.min(n, units * (t + 1) / threads * grain);
                    if (from < to) r.run(from, to, worker);
                });
            }

            @Override
            public int threads() {
                return threads;
            }
        };
    }
}
