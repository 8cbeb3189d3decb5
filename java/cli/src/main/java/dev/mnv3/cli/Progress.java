package dev.mnv3.cli;

import java.io.PrintWriter;

/**
 * A progress bar on stderr for work that takes seconds: redrawn in place on a terminal, a line
 * per quarter otherwise (so logs stay readable). Drawn on the caller's thread into the command's
 * own error writer; why not me.tongfei:progressbar (a thread, JLine, its own line format): see
 * docs/decisions.md.
 */
public final class Progress {
    private final PrintWriter err;
    private final String label;
    private final boolean terminal = System.console() != null;
    private int lastQuarter = -1;
    private int lastPercent = -1;
    private String lastDetail = "";
    private boolean barShown;

    /** A bar labelled {@code label} (e.g. the command's name), drawn into {@code err}. */
    public Progress(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    void update(double fraction) {
        update(fraction, "");
    }

    /** Shows {@code fraction} done, followed by {@code detail} (e.g. counts and a rate) when not empty. */
    public void update(double fraction, String detail) {
        int percent = (int) Math.min(100, Math.round(fraction * 100));
        String tail = detail.isEmpty() ? "" : "  " + detail;
        if (terminal) {
            if (percent == lastPercent && detail.equals(lastDetail) && barShown) return;
            int filled = percent * 30 / 100;
            // \033[K clears what a longer line drawn before left behind
            err.printf("\r%s [%s%s] %3d%%%s\033[K", label, "#".repeat(filled), " ".repeat(30 - filled), percent, tail);
            barShown = true;
        } else {
            int quarter = percent / 25;
            if (quarter == lastQuarter) return;
            lastQuarter = quarter;
            err.printf("%s %d%%%s%n", label, percent, tail);
        }
        lastPercent = percent;
        lastDetail = detail;
        err.flush();
    }

    /** Ends the bar's line, so that a message printed next starts a line of its own (the bar is drawn again on the next update). */
    void interrupt() {
        if (terminal && barShown) {
            err.println();
            err.flush();
            barShown = false;
        }
    }

    /** Shows 100% and ends the bar's line. */
    public void done() {
        done("");
    }

    void done(String detail) {
        update(1.0, detail);
        if (terminal) err.println();
        barShown = false;
        err.flush();
    }
}
