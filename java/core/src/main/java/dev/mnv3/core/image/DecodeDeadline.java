package dev.mnv3.core.image;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageReader;

/**
 * One image's decode time limit ({@link ImageLimits#decodeTimeout()}). A javax.imageio read that
 * runs past it is aborted (the JDK's decoders look for that between rows), and every step checks
 * it, so that an image over its time is refused, naming the limit, whatever the decoder returned.
 * The abort is asked again every millisecond until the read ends, so that a request the reader
 * clears or has not yet seen (javax.imageio readers may clear it as a read begins) is not lost.
 */
final class DecodeDeadline {
    private static final long ABORT_REPEAT_NANOS = 1_000_000;
    /** One daemon thread aborts the reads that overrun, for every decode in the JVM. */
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private final String name;
    private final Duration timeout;
    private final long end;

    DecodeDeadline(String name, Duration timeout) {
        this.name = name;
        this.timeout = timeout;
        this.end = timeout.isZero() ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().daemon().name("mnv3-decode-deadline")
                .factory());
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    boolean expired() {
        return end != Long.MAX_VALUE && System.nanoTime() - end > 0;
    }

    /** Refuses the image once its time is up. */
    void check() throws ImageDecodeException {
        if (expired()) {
            throw new ImageDecodeException("decoding image " + name + " took longer than the " + timeout.toMillis() + " ms allowed");
        }
    }

    /** A read of {@code reader}, aborted at the deadline; a read that overran is refused whatever it returned or threw. */
    <T> T read(ImageReader reader, Read<T> read) throws IOException {
        check();
        ScheduledFuture<?> abort = end == Long.MAX_VALUE ? null
                : TIMER.scheduleAtFixedRate(reader::abort, Math.max(0, end - System.nanoTime()), ABORT_REPEAT_NANOS, TimeUnit.NANOSECONDS);
        try {
            T result = read.call();
            check();
            return result;
        } catch (IOException | RuntimeException e) {
            check();
            throw e;
        } finally {
            if (abort != null) abort.cancel(false);
        }
    }

    interface Read<T> {
        T call() throws IOException;
    }
}
