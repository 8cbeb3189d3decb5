package dev.mnv3.core.image;

import java.io.InterruptedIOException;
import java.util.concurrent.Semaphore;

/**
 * The memory every decode in this JVM holds at once, together: at most {@link #capacity()},
 * an eighth of the heap and at most 512 MiB. A decode asks for what its decoded region and
 * working buffers need before it allocates them, and waits while other decodes hold the rest;
 * so parallel decoders cannot exhaust the heap between them, and one image's result never
 * depends on how many decode at once (its subsampling step is chosen against the capacity
 * alone). A request above the capacity waits for all of it and then runs alone.
 */
final class DecodeMemory {
    private static final int UNIT = 1024; // permits are KiB: the capacity fits an int
    private static final long CAPACITY = Math.min(512L << 20, Runtime.getRuntime().maxMemory() / 8);
    private static final Semaphore PERMITS = new Semaphore((int) (CAPACITY / UNIT), true);

    private DecodeMemory() {
    }

    static long capacity() {
        return CAPACITY;
    }

    /** Held bytes, released by close. */
    interface Hold extends AutoCloseable {
        @Override
        void close();
    }

    static Hold hold(long bytes) throws InterruptedIOException {
        int permits = (int) Math.max(1, Math.min(CAPACITY, bytes) / UNIT);
        try {
            PERMITS.acquire(permits);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for decode memory");
        }
        return () -> PERMITS.release(permits);
    }
}
