package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels} with the Vector API, 8 floats per vector (AVX2). The 1x1 convolution is a GEMM
 * with a 6x16 register tile: 12 accumulators + 2 weight vectors + 1 broadcast fill the 16 ymm
 * registers, and each k-step does 12 FMAs for 2 vector loads and 6 broadcasts. Tiles are written
 * out long-hand because C2 keeps scalar-replaced locals in registers but not arrays.
 */
final class VectorKernels implements Kernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int L = 8;

    /** Weight panels processed together are kept under this many bytes, so they stay in L2 while every row tile passes. */
    private static final int PANEL_BLOCK_BYTES = 192 * 1024;

    @Override
    public void gemm(float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, Activation act,
                     float[] res, int resOff, float[] c, int cOff, int m0, int m1, int colFrom, int colTo) {
        int block = Math.max(PackedWeights.PANEL, PANEL_BLOCK_BYTES / (4 * k) / PackedWeights.PANEL * PackedWeights.PANEL);
        for (int jb = colFrom; jb < colTo; jb += block) {
            int jEnd = Math.min(colTo, jb + block);
            int m = m0;
            // rows outer, panels inner: a row tile of A stays in L1 while the block's panels stream from L2
            for (; m + 6 <= m1; m += 6) {
                sixRows(a, aOff, lda, k, b, n, c, cOff, m, jb, jEnd);
                epilogue(c, cOff, n, m, m + 6, jb, jEnd, bias, act, res, resOff);
            }
            if (m1 - m >= 2 && m1 - m0 >= 6) {
                // a last full tile overlapping the previous one: recomputing up to 4 rows beats the single-row kernel
                sixRows(a, aOff, lda, k, b, n, c, cOff, m1 - 6, jb, jEnd);
                epilogue(c, cOff, n, m1 - 6, m1, jb, jEnd, bias, act, res, resOff);
                m = m1;
            }
            for (; m < m1; m++) {
                for (int j0 = jb; j0 < jEnd; j0 += PackedWeights.PANEL) {
                    row(a, aOff + m * lda, k, b, j0 * k, Math.min(PackedWeights.PANEL, jEnd - j0), c, cOff + m * n + j0);
                }
                epilogue(c, cOff, n, m, m + 1, jb, jEnd, bias, act, res, resOff);
            }
        }
    }

    /** Raw sums of rows [m, m+6) for the panels of columns [j0, j1). */
    private static void sixRows(float[] a, int aOff, int lda, int k, float[] b, int n, float[] c, int cOff, int m, int j0, int j1) {
        for (int j = j0; j < j1; j += PackedWeights.PANEL) {
            int o = cOff + m * n + j;
            if (j1 - j >= PackedWeights.PANEL) tile6x16(a, aOff + m * lda, lda, k, b, j * k, c, o, n);
            else tile6x8(a, aOff + m * lda, lda, k, b, j * k, c, o, n);
        }
    }

    /** C[6][16] at c0 = A[6][k] (rows lda apart) x panel; raw sums, the epilogue adds bias and activation. */
    private static void tile6x16(float[] a, int a0, int lda, int k, float[] b, int b0, float[] c, int c0, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int p = 0; p < k; p++) {
            int bo = b0 + p * 16;
            FloatVector b0v = FloatVector.fromArray(S, b, bo);
            FloatVector b1v = FloatVector.fromArray(S, b, bo + L);
            FloatVector av = FloatVector.broadcast(S, a[a0 + p]);
            c00 = av.fma(b0v, c00);
            c01 = av.fma(b1v, c01);
            av = FloatVector.broadcast(S, a[a1 + p]);
            c10 = av.fma(b0v, c10);
            c11 = av.fma(b1v, c11);
            av = FloatVector.broadcast(S, a[a2 + p]);
            c20 = av.fma(b0v, c20);
            c21 = av.fma(b1v, c21);
            av = FloatVector.broadcast(S, a[a3 + p]);
            c30 = av.fma(b0v, c30);
            c31 = av.fma(b1v, c31);
            av = FloatVector.broadcast(S, a[a4 + p]);
            c40 = av.fma(b0v, c40);
            c41 = av.fma(b1v, c41);
            av = FloatVector.broadcast(S, a[a5 + p]);
            c50 = av.fma(b0v, c50);
            c51 = av.fma(b1v, c51);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c10.intoArray(c, c0 + ldc);
        c11.intoArray(c, c0 + ldc + L);
        c20.intoArray(c, c0 + 2 * ldc);
        c21.intoArray(c, c0 + 2 * ldc + L);
        c30.intoArray(c, c0 + 3 * ldc);
        c31.intoArray(c, c0 + 3 * ldc + L);
        c40.intoArray(c, c0 + 4 * ldc);
        c41.intoArray(c, c0 + 4 * ldc + L);
        c50.intoArray(c, c0 + 5 * ldc);
        c51.intoArray(c, c0 + 5 * ldc + L);
    }

    private static void tile6x8(float[] a, int a0, int lda, int k, float[] b, int b0, float[] c, int c0, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c0v = z, c1v = z, c2v = z, c3v = z, c4v = z, c5v = z;
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, b0 + p * L);
            c0v = FloatVector.broadcast(S, a[a0 + p]).fma(bv, c0v);
            c1v = FloatVector.broadcast(S, a[a1 + p]).fma(bv, c1v);
            c2v = FloatVector.broadcast(S, a[a2 + p]).fma(bv, c2v);
            c3v = FloatVector.broadcast(S, a[a3 + p]).fma(bv, c3v);
            c4v = FloatVector.broadcast(S, a[a4 + p]).fma(bv, c4v);
            c5v = FloatVector.broadcast(S, a[a5 + p]).fma(bv, c5v);
        }
        c0v.intoArray(c, c0);
        c1v.intoArray(c, c0 + ldc);
        c2v.intoArray(c, c0 + 2 * ldc);
        c3v.intoArray(c, c0 + 3 * ldc);
        c4v.intoArray(c, c0 + 4 * ldc);
        c5v.intoArray(c, c0 + 5 * ldc);
    }

    /** One output row of a panel of 16 or 8 columns (the M remainder). */
    private static void row(float[] a, int a0, int k, float[] b, int b0, int width, float[] c, int c0) {
        for (int j = 0; j < width; j += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < k; p++) {
                acc = FloatVector.broadcast(S, a[a0 + p]).fma(FloatVector.fromArray(S, b, b0 + p * width + j), acc);
            }
            acc.intoArray(c, c0 + j);
        }
    }

    /**
     * Rows [m0, m1) x columns [j0, j1) of C, still in L1: add bias, activate, add the residual.
     * A loop of its own rather than part of the tiles, so that C2 inlines the activation (the
     * tiles are too big for it to inline more calls, and a call taking vectors would box them).
     */
    private static void epilogue(float[] c, int cOff, int n, int m0, int m1, int j0, int j1, float[] bias, Activation act,
                                 float[] res, int resOff) {
        for (int m = m0; m < m1; m++) {
            int o = cOff + m * n, r = resOff + m * n;
            for (int j = j0; j < j1; j += L) {
                FloatVector v = activate(FloatVector.fromArray(S, c, o + j).add(FloatVector.fromArray(S, bias, j)), act);
                if (res != null) v = v.add(FloatVector.fromArray(S, res, r + j));
                v.intoArray(c, o + j);
            }
        }
    }

    /** x/6 as x*(1/6): within an ulp of torchvision's division, and a multiply instead of a divide. */
    private static final float SIXTH = 1f / 6f;

    static FloatVector activate(FloatVector v, Activation act) {
        return switch (act) {
            case IDENTITY -> v;
            case RELU -> v.max(0f);
            case HARDSWISH -> v.mul(v.add(3f).max(0f).min(6f)).mul(SIXTH);
            case HARDSIGMOID -> v.add(3f).max(0f).min(6f).mul(SIXTH);
        };
    }

    @Override
    public void depthwisePaddedRow(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, Activation act,
                                   float[] out, int outOff) {
        int k = g.kernel(), s = g.stride(), ow = g.outWidth();
        int ox = 0;
        if (g.dilation() == 1 && (k == 3 || k == 5) && (s == 1 || s == 2)) {
            // sliding windows: four outputs share the input vectors their taps overlap on
            for (; ox + 4 <= ow; ox += 4) {
                if (k == 3 && s == 1) window3s1(g, in, rows, w, bias, out, outOff, ox);
                else if (k == 3) window3s2(g, in, rows, w, bias, out, outOff, ox);
                else window5(g, in, rows, w, bias, out, outOff, ox);
            }
        }
        for (; ox < ow; ox++) paddedOne(g, in, rows, w, bias, out, outOff, ox);
        activateRange(out, outOff, ow * g.channels(), act);
    }

    private static void window3s1(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, float[] out, int outOff, int ox) {
        int c = g.channels(), x0 = ox * c, o = outOff + ox * c;
        for (int cb = 0; cb < c; cb += L) {
            FloatVector a0 = FloatVector.fromArray(S, bias, cb), a1 = a0, a2 = a0, a3 = a0;
            for (int ky = 0; ky < 3; ky++) {
                if (rows[ky] < 0) continue;
                int i = rows[ky] + x0 + cb, wo = ky * 3 * c + cb;
                FloatVector w0 = FloatVector.fromArray(S, w, wo), w1 = FloatVector.fromArray(S, w, wo + c),
                        w2 = FloatVector.fromArray(S, w, wo + 2 * c);
                FloatVector v0 = FloatVector.fromArray(S, in, i), v1 = FloatVector.fromArray(S, in, i + c),
                        v2 = FloatVector.fromArray(S, in, i + 2 * c), v3 = FloatVector.fromArray(S, in, i + 3 * c),
                        v4 = FloatVector.fromArray(S, in, i + 4 * c), v5 = FloatVector.fromArray(S, in, i + 5 * c);
                a0 = v2.fma(w2, v1.fma(w1, v0.fma(w0, a0)));
                a1 = v3.fma(w2, v2.fma(w1, v1.fma(w0, a1)));
                a2 = v4.fma(w2, v3.fma(w1, v2.fma(w0, a2)));
                a3 = v5.fma(w2, v4.fma(w1, v3.fma(w0, a3)));
            }
            a0.intoArray(out, o + cb);
            a1.intoArray(out, o + c + cb);
            a2.intoArray(out, o + 2 * c + cb);
            a3.intoArray(out, o + 3 * c + cb);
        }
    }

    private static void window3s2(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, float[] out, int outOff, int ox) {
        int c = g.channels(), x0 = 2 * ox * c, o = outOff + ox * c;
        for (int cb = 0; cb < c; cb += L) {
            FloatVector a0 = FloatVector.fromArray(S, bias, cb), a1 = a0, a2 = a0, a3 = a0;
            for (int ky = 0; ky < 3; ky++) {
                if (rows[ky] < 0) continue;
                int i = rows[ky] + x0 + cb, wo = ky * 3 * c + cb;
                FloatVector w0 = FloatVector.fromArray(S, w, wo), w1 = FloatVector.fromArray(S, w, wo + c),
                        w2 = FloatVector.fromArray(S, w, wo + 2 * c);
                FloatVector v0 = FloatVector.fromArray(S, in, i), v1 = FloatVector.fromArray(S, in, i + c),
                        v2 = FloatVector.fromArray(S, in, i + 2 * c), v3 = FloatVector.fromArray(S, in, i + 3 * c),
                        v4 = FloatVector.fromArray(S, in, i + 4 * c);
                a0 = v2.fma(w2, v1.fma(w1, v0.fma(w0, a0)));
                a1 = v4.fma(w2, v3.fma(w1, v2.fma(w0, a1)));
                v0 = FloatVector.fromArray(S, in, i + 5 * c);
                v1 = FloatVector.fromArray(S, in, i + 6 * c);
                v2 = FloatVector.fromArray(S, in, i + 7 * c);
                v3 = FloatVector.fromArray(S, in, i + 8 * c);
                a2 = v1.fma(w2, v0.fma(w1, v4.fma(w0, a2)));
                a3 = v3.fma(w2, v2.fma(w1, v1.fma(w0, a3)));
            }
            a0.intoArray(out, o + cb);
            a1.intoArray(out, o + c + cb);
            a2.intoArray(out, o + 2 * c + cb);
            a3.intoArray(out, o + 3 * c + cb);
        }
    }

    /** 5x5, stride 1 or 2: the taps of the four outputs overlap less, so each input vector is loaded per tap. */
    private static void window5(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, float[] out, int outOff, int ox) {
        int c = g.channels(), step = g.stride() * c, x0 = ox * step, o = outOff + ox * c;
        for (int cb = 0; cb < c; cb += L) {
            FloatVector a0 = FloatVector.fromArray(S, bias, cb), a1 = a0, a2 = a0, a3 = a0;
            for (int ky = 0; ky < 5; ky++) {
                if (rows[ky] < 0) continue;
                int i = rows[ky] + x0 + cb, wo = ky * 5 * c + cb;
                for (int kx = 0; kx < 5; kx++) {
                    FloatVector wv = FloatVector.fromArray(S, w, wo + kx * c);
                    int p = i + kx * c;
                    a0 = FloatVector.fromArray(S, in, p).fma(wv, a0);
                    a1 = FloatVector.fromArray(S, in, p + step).fma(wv, a1);
                    a2 = FloatVector.fromArray(S, in, p + 2 * step).fma(wv, a2);
                    a3 = FloatVector.fromArray(S, in, p + 3 * step).fma(wv, a3);
                }
            }
            a0.intoArray(out, o + cb);
            a1.intoArray(out, o + c + cb);
            a2.intoArray(out, o + 2 * c + cb);
            a3.intoArray(out, o + 3 * c + cb);
        }
    }

    /** One output of a padded row, any kernel, stride and dilation. */
    private static void paddedOne(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, float[] out, int outOff, int ox) {
        int c = g.channels(), k = g.kernel(), dc = g.dilation() * c, x0 = ox * g.stride() * c;
        for (int cb = 0; cb < c; cb += L) {
            FloatVector acc = FloatVector.fromArray(S, bias, cb);
            for (int ky = 0; ky < k; ky++) {
                if (rows[ky] < 0) continue;
                int i = rows[ky] + x0 + cb, wo = ky * k * c + cb;
                for (int kx = 0; kx < k; kx++) {
                    acc = FloatVector.fromArray(S, in, i + kx * dc).fma(FloatVector.fromArray(S, w, wo + kx * c), acc);
                }
            }
            acc.intoArray(out, outOff + ox * c + cb);
        }
    }

    private static void activateRange(float[] x, int from, int len, Activation act) {
        if (act == Activation.IDENTITY) return;
        for (int i = from; i < from + len; i += L) activate(FloatVector.fromArray(S, x, i), act).intoArray(x, i);
    }


    @Override
    public void channelSums(float[] x, int off, int pixels, int channels, float[] sums) {
        for (int cb = 0; cb < channels; cb += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < pixels; p++) acc = acc.add(FloatVector.fromArray(S, x, off + p * channels + cb));
            acc.intoArray(sums, cb);
        }
    }

}
