package dev.mnv3.cli;

import java.util.function.LongSupplier;

/**
 * Where a run of several measurements stands, for the progress bar: which one runs, and the time
 * left, estimated from the measurements done so far (warm-up, compiling and all), or from the
 * planned seconds per measurement before the first one ends.
 */
final class SweepClock {
    private final int total;
    private final double plannedSeconds;
    private final LongSupplier nanos;
    private final long start;
    private int done;
    private long currentStart;

    SweepClock(int total, double plannedSeconds) {
        this(total, plannedSeconds, System::nanoTime);
    }

    SweepClock(int total, double plannedSeconds, LongSupplier nanos) {
        this.total = total;
        this.plannedSeconds = plannedSeconds;
        this.nanos = nanos;
        this.start = nanos.getAsLong();
        this.currentStart = start;
    }

    /** A measurement starts. */
    void begin() {
        currentStart = nanos.getAsLong();
    }

    /** A measurement ended, measured or failed. */
    void end() {
        done++;
    }

    /** "3/12, 1:05 left": the measurement running and the time the rest should take. */
    String detail() {
        long now = nanos.getAsLong();
        double perPoint = done == 0 ? plannedSeconds : (now - start) / 1e9 / done;
        double left = Math.max(0, perPoint * (total - done) - (now - currentStart) / 1e9);
        return (done + 1) + "/" + total + ", " + clock(left) + " left";
    }

    /** Seconds as m:ss, or h:mm:ss from an hour. */
    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }
}
