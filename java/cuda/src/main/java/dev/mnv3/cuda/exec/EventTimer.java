package dev.mnv3.cuda.exec;

import dev.mnv3.cuda.ffi.Cleanup;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.CudaException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/** GPU time of work enqueued on one stream, from CUDA events. */
final class EventTimer {
    private static final System.Logger LOG = System.getLogger(EventTimer.class.getName());

    private EventTimer() {
    }

    /**
     * Mean GPU time of {@code work} on {@code stream}: {@code warmups} untimed runs, then the mean of
     * {@code iterations}. Each run gets its own argument arena.
     */
    static double millis(CudaDriver driver, MemorySegment stream, int warmups, int iterations, Consumer<Arena> work) {
        MemorySegment start = driver.eventCreate(), end = driver.eventCreate();
        RuntimeException failed = null;
        try {
            for (int i = 0; i < warmups + iterations; i++) {
                if (i == warmups) driver.eventRecord(start, stream);
                try (Arena args = Arena.ofConfined()) {
                    work.accept(args);
                }
            }
            driver.eventRecord(end, stream);
            driver.eventSynchronize(end);
            return driver.eventElapsedMillis(start, end) / iterations;
        } catch (RuntimeException e) {
            failed = e;
            throw e;
        } finally {
            // after a fault the events cannot be destroyed either: the fault is what to report
            RuntimeException destroy = Cleanup.runAll(() -> driver.eventDestroy(start), () -> driver.eventDestroy(end));
            if (destroy != null && failed == null) throw destroy;
        }
    }

    /**
     * A short measurement (2 warm-ups, 5 timed), or NaN when this candidate cannot run the shape
     * (not supported, or out of memory or launch resources). Any other failure is rethrown naming
     * the layer and the candidate: a fault (an illegal or misaligned address, a failed launch)
     * loses the context, and the next unrelated call would report it under the wrong name.
     */
    static double millisOrNaN(CudaDriver driver, MemorySegment stream, String layer, String who, Consumer<Arena> work) {
        try {
            return millis(driver, stream, 2, 5, work);
        } catch (CudaException e) {
            if (!e.cannotRunHere()) {
                throw new IllegalStateException(layer + ": " + who + " failed while it was timed: " + e.getMessage()
                        + (e.contextLost() ? " (the GPU context is lost: restart the process)" : ""), e);
            }
            LOG.log(System.Logger.Level.DEBUG, layer + ": " + who + " cannot run this shape: " + e.getMessage());
            return Double.NaN;
        }
    }
}
