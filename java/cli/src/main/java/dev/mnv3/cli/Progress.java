package dev.mnv3.cli;

import java.io.PrintWriter;

/**
 * A progress bar on stderr for work that takes seconds: redrawn in place on a terminal, a line
 * per quarter otherwise (so logs stay readable).
 */
final class Progress {
    private final PrintWriter err;
    private final String label;
    private final boolean terminal = System.console() != null;
    private int lastQuarter = -1;
    private int lastPercent = -1;

    Progress(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    void update(double fraction) {
        int percent = (int) Math.min(100, Math.round(fraction * 100));
        if (terminal) {
            if (percent == lastPercent) return;
            int filled = percent * 30 / 100;
            err.printf("\r%s [%s%s] %3d%%", label, "#".repeat(filled), " ".repeat(30 - filled), percent);
        } else {
            int quarter = percent / 25;
            if (quarter == lastQuarter) return;
            lastQuarter = quarter;
            err.printf("%s %d%%%n", label, percent);
        }
        lastPercent = percent;
        err.flush();
    }

    void done() {
        update(1.0);
        if (terminal) err.println();
        err.flush();
    }
}
