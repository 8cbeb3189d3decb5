package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;

/**
 * Plain-Java loops with the same layouts as {@link VectorKernels}, for JVMs where the Vector API
 * would not pay, and for the first runs before C2 has compiled the vector kernels
 * ({@link WarmStart}, which has them read the vector kernels' weight panels).
 */
final class ScalarKernels implements CpuKernels {
    private static final int PANEL = 16;

    private final String why;
    /** Columns per weight panel, and the unit a last narrower panel's stored width is rounded up to. */
    private final int panel, unit;

    /** {@code why}: the reason the vector kernels do not run, for {@link #describe}. */
    ScalarKernels(String why) {
        this(why, PANEL, 8);
    }

    /** Plain loops over weights packed in panels of {@code panel} columns, a last narrower one rounded up to {@code unit}. */
    ScalarKernels(String why, int panel, int unit) {
        this.why = why;
        this.panel = panel;
        this.unit = unit;
    }

    @Override
    public int panel() {
        return panel;
    }

    @Override
    public int scratchFloats() {
        return panel;
    }

    @Override
    public PackedWeights pack(float[] outIn, float[] bias, int n, int k) {
        return PackedWeights.pack(outIn, bias, n, k, panel, unit);
    }

    @Override
    public int vectorBits() {
        return 0;
    }

    @Override
    public String describe() {
        return "plain Java loops (" + why + ")";
    }

    @Override
    public void gemm(float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, Activation act,
                     float[] res, int resOff, float[] c, int cOff, int m0, int m1, int colFrom, int colTo, float[] acc) {
        for (int j0 = colFrom; j0 < colTo; j0 += panel) {
            // the stored width is the row stride of the panel; a last panel may store zero columns beyond n
            int width = Math.min(panel, n - j0), stored = Math.min(panel, (n - j0 + unit - 1) / unit * unit);
            int base = j0 * k;
            for (int m = m0; m < m1; m++) {
                int ar = aOff + m * lda;
                for (int j = 0; j < width; j++) acc[j] = bias[j0 + j];
                for (int p = 0; p < k; p++) {
                    float av = a[ar + p];
                    int bo = base + p * stored;
                    for (int j = 0; j < width; j++) acc[j] = Math.fma(av, b[bo + j], acc[j]);
                }
                int co = cOff + m * n + j0;
                for (int j = 0; j < width; j++) {
                    float v = act.apply(acc[j]);
                    c[co + j] = res == null ? v : v + res[resOff + m * n + j0 + j];
                }
            }
        }
    }

    @Override
    public void depthwisePaddedRow(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, Activation act,
                                   float[] out, int outOff) {
        int c = g.channels(), k = g.kernel();
        for (int ox = 0; ox < g.outWidth(); ox++) {
            int o = outOff + ox * c;
            for (int ch = 0; ch < c; ch++) out[o + ch] = bias[ch];
            for (int ky = 0; ky < k; ky++) {
                if (rows[ky] < 0) continue;
                for (int kx = 0; kx < k; kx++) {
                    int i = rows[ky] + (ox * g.stride() + kx * g.dilation()) * c, wo = (ky * k + kx) * c;
                    for (int ch = 0; ch < c; ch++) out[o + ch] = Math.fma(in[i + ch], w[wo + ch], out[o + ch]);
                }
            }
            for (int ch = 0; ch < c; ch++) out[o + ch] = act.apply(out[o + ch]);
        }
    }

    @Override
    public void scaleChannels(float[] x, int off, int pixels, int channels, float[] scale, int scaleOff) {
        for (int p = 0; p < pixels; p++) {
            int o = off + p * channels;
            for (int ch = 0; ch < channels; ch++) x[o + ch] *= scale[scaleOff + ch];
        }
    }

    @Override
    public void channelSums(float[] x, int off, int pixels, int stride, int channels, float[] sums) {
        java.util.Arrays.fill(sums, 0, channels, 0f);
        for (int p = 0; p < pixels; p++) {
            int o = off + p * stride;
            for (int ch = 0; ch < channels; ch++) sums[ch] += x[o + ch];
        }
    }

}
