package dev.mnv3.cuda.plan;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.mnv3.core.image.Preprocessing;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The resampling taps of an images plan's preprocessing, as {@link Preprocessing#taps} computes
 * them on the host, packed for one device allocation: per crop column and per crop row the first
 * source sample, how many, and the weights (padded to the widest filter, zeros past each count).
 * Offsets are in bytes, 256-byte aligned.
 */
public record PreprocessTaps(int crop, int maxColTaps, int maxRowTaps, Preprocessing.Taps columns, Preprocessing.Taps rows) {
    private static final long ALIGN = 256;

    public static PreprocessTaps of(ForwardPlan plan) {
        ForwardPlan.InputSpec spec = plan.inputSpec();
        Preprocessing p = spec.preprocessing();
        Preprocessing.Taps cols = p.taps(spec.imageWidth(), spec.imageHeight(), false);
        Preprocessing.Taps rows = p.taps(spec.imageWidth(), spec.imageHeight(), true);
        return new PreprocessTaps(p.crop(), widest(cols), widest(rows), cols, rows);
    }

    private static int widest(Preprocessing.Taps t) {
        int w = 1;
        for (int c : t.count()) w = Math.max(w, c);
        return w;
    }

    private long ints() {
        return align((long) crop * Integer.BYTES);
    }

    public long colFirst() {
        return 0;
    }

    public long colCount() {
        return ints();
    }

    public long colWeights() {
        return 2 * ints();
    }

    public long rowFirst() {
        return colWeights() + align((long) crop * maxColTaps * Float.BYTES);
    }

    public long rowCount() {
        return rowFirst() + ints();
    }

    public long rowWeights() {
        return rowCount() + ints();
    }

    public long bytes() {
        return rowWeights() + align((long) crop * maxRowTaps * Float.BYTES);
    }

    /** The host image of the allocation. */
    public MemorySegment image(Arena arena) {
        MemorySegment m = arena.allocate(bytes(), ALIGN);
        write(m, columns, colFirst(), colCount(), colWeights(), maxColTaps);
        write(m, rows, rowFirst(), rowCount(), rowWeights(), maxRowTaps);
        return m;
    }

    private void write(MemorySegment m, Preprocessing.Taps t, long first, long count, long weights, int stride) {
        for (int i = 0; i < crop; i++) {
            m.setAtIndex(JAVA_INT, first / Integer.BYTES + i, t.first()[i]);
            m.setAtIndex(JAVA_INT, count / Integer.BYTES + i, t.count()[i]);
            for (int k = 0; k < t.count()[i]; k++) m.setAtIndex(JAVA_FLOAT, weights / Float.BYTES + (long) i * stride + k, t.weights()[i][k]);
        }
    }

    private static long align(long bytes) {
        return (bytes + ALIGN - 1) / ALIGN * ALIGN;
    }
}
