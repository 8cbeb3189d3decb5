package dev.mnv3.cpu.fast;

/**
 * A 1x1 conv's or a linear layer's weights [N out, K in] rearranged for the GEMM microkernel:
 * column panels of {@link #panel} outputs (two vectors of the kernels' width), each stored
 * k-major ([K][panel]) so that one k-step of the kernel reads adjacent vectors. N is padded with
 * zero columns to a multiple of 8 ({@link #paddedN}, the row stride of results: a classifier with
 * an odd class count needs it, and an SE squeeze that is not rounded to 8; every conv width is a
 * multiple of 8 by make_divisible), and the last panel, if narrower, is stored with zero columns
 * up to a whole number of vectors, so that the kernels always load whole vectors.
 */
final class PackedWeights {
    /** Inputs, real outputs, and outputs including the padding to 8 (the row stride of results). */
    final int k, n, paddedN;
    /** Columns per panel, and the unit the last panel's stored width is rounded up to (one vector). */
    final int panel, unit;
    final float[] data;
    final float[] bias;

    private PackedWeights(int k, int n, int paddedN, int panel, int unit, float[] data, float[] bias) {
        this.k = k;
        this.n = n;
        this.paddedN = paddedN;
        this.panel = panel;
        this.unit = unit;
        this.data = data;
        this.bias = bias;
    }

    /** How many column panels, the last one possibly narrower: the unit threads split output columns by. */
    int panels() {
        return (paddedN + panel - 1) / panel;
    }

    /**
     * From PyTorch's [out][in] layout (a [out, in, 1, 1] conv kernel, flattened) and the bias
     * [out], in panels of {@code panel} columns whose last one is stored rounded up to {@code unit}.
     */
    static PackedWeights pack(float[] outIn, float[] bias, int n, int k, int panel, int unit) {
        if (panel % unit != 0 || unit % 4 != 0) throw new IllegalArgumentException("panel " + panel + ", unit " + unit);
        int padded = (n + 7) / 8 * 8;
        int stored = storedColumns(padded, panel, unit);
        float[] d = new float[stored * k];
        for (int j0 = 0; j0 < padded; j0 += panel) {
            int width = Math.min(panel, (padded - j0 + unit - 1) / unit * unit);
            int base = j0 * k;
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < width && j0 + j < n; j++) d[base + p * width + j] = outIn[(j0 + j) * k + p];
            }
        }
        return new PackedWeights(k, n, padded, panel, unit, d, java.util.Arrays.copyOf(bias, stored));
    }

    private static int storedColumns(int padded, int panel, int unit) {
        int full = padded / panel * panel;
        return full + (padded - full + unit - 1) / unit * unit;
    }

    /** Stored columns of the panel that starts at column j0: {@link #panel}, or the last one's rounded width. */
    int width(int j0) {
        return Math.min(panel, (paddedN - j0 + unit - 1) / unit * unit);
    }

    /** Floats in {@link #data}. */
    int floats() {
        return data.length;
    }

    /**
     * Writes into {@code dst} the panels of columns [from, to) with input row p multiplied by
     * scale[p]: the SE scale folded in. {@code from} is a multiple of the panel width.
     */
    void scaledInto(float[] scale, float[] dst, int from, int to) {
        for (int j0 = from; j0 < to; j0 += panel) {
            int width = width(j0);
            int base = j0 * k;
            for (int p = 0; p < k; p++) {
                float s = scale[p];
                int o = base + p * width;
                for (int j = 0; j < width; j++) dst[o + j] = data[o + j] * s;
            }
        }
    }
}
