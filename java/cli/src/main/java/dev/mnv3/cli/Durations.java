package dev.mnv3.cli;

import dev.mnv3.core.bench.Throughput;

/** Checks the --seconds and --warmup options: finite, within a day, and more than 0 where 0 would measure nothing. */
final class Durations {
    private Durations() {
    }

    static void check(String option, double seconds, boolean zeroAllowed) {
        boolean ok = zeroAllowed ? seconds >= 0 : seconds > 0;
        if (!ok || !(seconds <= Throughput.MAX_SECONDS)) { // NaN fails both comparisons
            throw new Main.UserError(option + " must be " + (zeroAllowed ? "from 0" : "more than 0") + " and at most "
                    + (long) Throughput.MAX_SECONDS + " seconds, got " + seconds);
        }
    }
}
