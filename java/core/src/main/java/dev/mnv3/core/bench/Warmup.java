package dev.mnv3.core.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * How a measurement warms up: for a fixed time, or until throughput is steady. Steady means the
 * JIT has gone quiet (it compiled for under 2% of the last window) and the last 3 windows of
 * 0.5 s ran within 3% of each other's throughput; a cap of 20 s ends a warm-up that never
 * settles, and the outcome says so. A fixed time alone under-reports: C2 may still be compiling
 * the Vector API kernels when it ends, more so on a loaded machine.
 */
public final class Warmup {
    public static final double WINDOW_SECONDS = 0.5, CAP_SECONDS = 20, TOLERANCE = 0.03, QUIET_JIT_FRACTION = 0.02;
    static final int STEADY_WINDOWS = 3;

    /** The clock and the JIT's total compile time in ms (negative where the JVM does not tell). */
    interface Probe {
        long nanoTime();

        long compileMillis();
    }

    /** How a warm-up ended: after {@code seconds}; {@code how} is "fixed", "steady" or "cap" (stopped before steady). */
    public record Outcome(double seconds, String how) {
        /** For the text report, e.g. "warm-up 4.5 s, steady". */
        public String describe() {
            return String.format(Locale.ROOT, "warm-up %.1f s, %s", seconds, switch (how) {
                case "steady" -> "steady";
                case "cap" -> "not steady by the cap";
                default -> "fixed";
            });
        }
    }

    private static final Probe JVM = new Probe() {
        private final CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        private final boolean known = jit != null && jit.isCompilationTimeMonitoringSupported();

        public long nanoTime() {
            return System.nanoTime();
        }

        public long compileMillis() {
            return known ? jit.getTotalCompilationTime() : -1;
        }
    };

    private final double fixedSeconds; // NaN: until steady
    private final Probe probe;
    private final double window, cap;

    private Warmup(double fixedSeconds, Probe probe, double window, double cap) {
        this.fixedSeconds = fixedSeconds;
        this.probe = probe;
        this.window = window;
        this.cap = cap;
    }

    /** A fixed warm-up of {@code seconds} (0 to a day). */
    public static Warmup fixed(double seconds) {
        Throughput.checkDurations(seconds, 1);
        return new Warmup(seconds, JVM, 0, 0);
    }

    /** Until throughput is steady, at most {@link #CAP_SECONDS}. */
    public static Warmup steady() {
        return new Warmup(Double.NaN, JVM, WINDOW_SECONDS, CAP_SECONDS);
    }

    static Warmup steady(Probe probe, double window, double cap) {
        return new Warmup(Double.NaN, probe, window, cap);
    }

    /** Runs {@code step} until the warm-up is over; {@code step} runs at least once. */
    public Outcome run(Runnable step) {
        long start = probe.nanoTime();
        if (!Double.isNaN(fixedSeconds)) {
            long until = start + (long) (fixedSeconds * 1e9);
            do {
                step.run();
            } while (probe.nanoTime() < until);
            return new Outcome((probe.nanoTime() - start) / 1e9, "fixed");
        }
        double[] rates = new double[STEADY_WINDOWS];
        long windowNanos = (long) (window * 1e9);
        for (int w = 0; ; w++) {
            long jit0 = probe.compileMillis(), t0 = probe.nanoTime(), t1;
            int runs = 0;
            do {
                step.run();
                runs++;
                t1 = probe.nanoTime();
            } while (t1 - t0 < windowNanos);
            long jit1 = probe.compileMillis();
            rates[w % STEADY_WINDOWS] = runs / ((t1 - t0) / 1e9);
            boolean quiet = jit0 < 0 || jit1 < 0 || jit1 - jit0 <= QUIET_JIT_FRACTION * (t1 - t0) / 1e6;
            if (quiet && w + 1 >= STEADY_WINDOWS && within(rates)) return new Outcome((t1 - start) / 1e9, "steady");
            if (t1 - start >= cap * 1e9) return new Outcome((t1 - start) / 1e9, "cap");
        }
    }

    private static boolean within(double[] rates) {
        double lo = Double.MAX_VALUE, hi = 0;
        for (double r : rates) {
            lo = Math.min(lo, r);
            hi = Math.max(hi, r);
        }
        return hi <= lo * (1 + TOLERANCE);
    }
}
