package dev.mnv3.cuda.exec;

import dev.mnv3.cuda.ffi.CudaDriver;
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
        } finally {
            driver.eventDestroy(start);
            driver.eventDestroy(end);
        }
    }

    /** A short measurement (2 warm-ups, 5 timed), or NaN when the work fails: that side cannot run the shape. */
    static double millisOrNaN(CudaDriver driver, MemorySegment stream, String layer, String who, Consumer<Arena> work) {
        try {
            return millis(driver, stream, 2, 5, work);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, layer + ": " + who + " failed while timed: " + e.getMessage());
            return Double.NaN;
        }
    }
}
