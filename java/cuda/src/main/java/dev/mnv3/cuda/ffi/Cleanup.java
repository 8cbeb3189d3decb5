package dev.mnv3.cuda.ffi;

/** Freeing several native resources: every step is tried, so one failure leaks nothing else. */
public final class Cleanup {
    private Cleanup() {
    }

    /** Runs every step, even after one fails; returns the first failure, or null. */
    public static RuntimeException runAll(Runnable... steps) {
        RuntimeException first = null;
        for (Runnable r : steps) {
            try {
                r.run();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        return first;
    }
}
