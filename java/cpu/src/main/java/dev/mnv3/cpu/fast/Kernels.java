package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;

/**
 * The fast path's inner loops on NHWC images (one image = [H][W][C] in a float array at an
 * offset). Two implementations compute the same thing: {@link VectorKernels} with the Vector API
 * and {@link ScalarKernels} where jdk.incubator.vector is not available. Every method works on a
 * range of rows so that several threads can share one image.
 */
interface Kernels {
    /**
     * Rows [m0, m1) x columns [j0, j1) of C[M][N] = act(A[M][K] x B + bias) (+ R[M][N]): a 1x1
     * convolution or a linear layer, B in {@link PackedWeights} layout with N its padded width.
     * Row m of A starts at aOff + m*lda: lda is K, or less where rows overlap (the stem's patches).
     * j0 and j1 are multiples of 16 or N. {@code res} is null without a residual.
     */
    void gemm(float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, Activation act,
              float[] res, int resOff, float[] c, int cOff, int m0, int m1, int j0, int j1);

    /** All columns: {@link #gemm} over [0, n). */
    default void pointwise(float[] a, int aOff, int k, float[] b, int n, float[] bias, Activation act,
                           float[] res, int resOff, float[] c, int cOff, int m0, int m1) {
        gemm(a, aOff, k, k, b, n, bias, act, res, resOff, c, cOff, m0, m1, 0, n);
    }

    /**
     * One output row of a depthwise conv + bias + act, weights [k*k][C]. Every input row carries
     * its left and right zero padding ({@code pad} pixels each side), so no tap falls outside a
     * row: {@code rows[ky]} is the offset in {@code in} of the padded row that tap row ky reads,
     * or -1 for a row of top or bottom padding. Rows need not be adjacent (the fused path keeps
     * them in a ring).
     */
    void depthwisePaddedRow(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, Activation act,
                            float[] out, int outOff);

    /** sums[c] = sum over the first {@code pixels} pixels of x[pixel][c]. */
    void channelSums(float[] x, int off, int pixels, int channels, float[] sums);

    static Kernels best() {
        return VectorSupport.AVAILABLE ? new VectorKernels() : new ScalarKernels();
    }
}
