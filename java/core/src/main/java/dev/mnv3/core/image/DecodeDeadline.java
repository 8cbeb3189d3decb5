package dev.mnv3.core.image;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadProgressListener;

/**
 * One image's decode time limit ({@link ImageLimits#decodeTimeout()}). A javax.imageio read that
 * runs past it is aborted, and every step checks it, so that an image over its time is refused,
 * naming the limit, whatever the decoder returned.
 *
 * <p>The reading thread aborts its own read. javax.imageio's readers report their progress (PNG,
 * GIF and BMP every row, JPEG every twentieth of a pass) just before they look for an abort, and
 * the report aborts the read once its time is up. An abort from another thread is not enough: the
 * readers clear any abort as the image starts, after allocating its raster, so one asked while a
 * large raster was allocated was lost and the read ran to its end; and the JDK's JPEG reader
 * refuses {@code abort()} from another thread while it reads. A timer aborts too, every
 * millisecond from the deadline until the read ends, for a reader that reports no progress.
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
        if (end == Long.MAX_VALUE) return read.call();
        SelfAbort self = new SelfAbort();
        TimerAbort timed = new TimerAbort(reader);
        reader.addIIOReadProgressListener(self);
        timed.future = TIMER.scheduleAtFixedRate(timed, Math.max(0, end - System.nanoTime()), ABORT_REPEAT_NANOS,
                TimeUnit.NANOSECONDS);
        try {
            T result = read.call();
            check();
            return result;
        } catch (IOException | RuntimeException e) {
            check();
            throw e;
        } finally {
            timed.stop();
            reader.removeIIOReadProgressListener(self);
        }
    }

    interface Read<T> {
        T call() throws IOException;
    }

    /** Aborts the read from the reading thread, at the reader's own reports, once the time is up. */
    private final class SelfAbort implements IIOReadProgressListener {
        private void abortIfLate(ImageReader source) {
            if (expired()) source.abort();
        }

        @Override
        public void imageStarted(ImageReader source, int imageIndex) {
            abortIfLate(source); // the reader has just cleared any earlier abort
        }

        @Override
        public void imageProgress(ImageReader source, float percentageDone) {
            abortIfLate(source);
        }

        @Override
        public void thumbnailStarted(ImageReader source, int imageIndex, int thumbnailIndex) {
            abortIfLate(source);
        }

        @Override
        public void thumbnailProgress(ImageReader source, float percentageDone) {
            abortIfLate(source);
        }

        @Override
        public void sequenceStarted(ImageReader source, int minIndex) {
        }

        @Override
        public void sequenceComplete(ImageReader source) {
        }

        @Override
        public void imageComplete(ImageReader source) {
        }

        @Override
        public void thumbnailComplete(ImageReader source) {
        }

        @Override
        public void readAborted(ImageReader source) {
        }
    }

    /**
     * The timer's abort, asked again every run until the read ends, and never after it. A reader
     * that refuses it (the JDK's JPEG reader, mid-read) ends the repeats; its reports abort it.
     */
    private static final class TimerAbort implements Runnable {
        private final ImageReader reader;
        private boolean done;
        ScheduledFuture<?> future;

        TimerAbort(ImageReader reader) {
            this.reader = reader;
        }

        @Override
        public synchronized void run() {
            if (!done) reader.abort();
        }

        synchronized void stop() {
            done = true;
            future.cancel(false);
        }
    }
}
