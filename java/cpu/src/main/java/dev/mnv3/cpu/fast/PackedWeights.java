package dev.mnv3.cpu.fast;

/**
 * A 1x1 conv's or a linear layer's weights [N out, K in] rearranged for the GEMM microkernel:
 * column panels of {@link #PANEL} outputs, each stored k-major ([K][PANEL]) so that one k-step
 * of the kernel reads two adjacent vectors; a last panel of 8 holds N % 16 == 8. N is padded
 * with zero columns to a multiple of 8 (a classifier with an odd class count needs it, and an SE
 * squeeze that is not rounded to 8; every conv width is a multiple of 8 by make_divisible), and
 * the bias with it.
 */
final class PackedWeights {
    static final int PANEL = 16;

    /** Inputs, real outputs, and outputs including the zero padding (the row stride of results). */
    final int k, n, paddedN;
    final float[] data;
    final float[] bias;

    private PackedWeights(int k, int n, int paddedN, float[] data, float[] bias) {
        this.k = k;
        this.n = n;
        this.paddedN = paddedN;
        this.data = data;
        this.bias = bias;
    }

    /** From PyTorch's [out][in] layout (a [out, in, 1, 1] conv kernel, flattened) and the bias [out]. */
    static PackedWeights pack(float[] outIn, float[] bias, int n, int k) {
        int padded = (n + 7) / 8 * 8;
        float[] d = new float[padded * k];
        for (int j0 = 0; j0 < padded; j0 += PANEL) {
            int width = Math.min(PANEL, padded - j0);
            int base = j0 * k;
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < width && j0 + j < n; j++) d[base + p * width + j] = outIn[(j0 + j) * k + p];
            }
        }
        return new PackedWeights(k, n, padded, d, java.util.Arrays.copyOf(bias, padded));
    }

    /**
     * Writes into {@code dst} the panels of columns [from, to) with input row p multiplied by
     * scale[p]: the SE scale folded in. {@code from} is a multiple of 16.
     */
    void scaledInto(float[] scale, float[] dst, int from, int to) {
        for (int j0 = from; j0 < to; j0 += PANEL) {
            int width = Math.min(PANEL, paddedN - j0);
            int base = j0 * k;
            for (int p = 0; p < k; p++) {
                float s = scale[p];
                int o = base + p * width;
                for (int j = 0; j < width; j++) dst[o + j] = data[o + j] * s;
            }
        }
    }
}
