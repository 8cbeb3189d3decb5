package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;

/**
 * The fast path's inner loops on NHWC images (one image = [H][W][C] in a float array at an
 * offset). Two implementations compute the same thing: {@link VectorKernels} with the Vector API
 * at the width this JVM prefers and {@link ScalarKernels} where that would not pay. Every method
 * works on a range of rows so that several threads can share one image.
 */
interface CpuKernels {
    /**
     * Rows [m0, m1) x columns [j0, j1) of C[M][N] = act(A[M][K] x B + bias) (+ R[M][N]): a 1x1
     * convolution or a linear layer, B packed by {@link #pack} with N its padded width. Row m of A
     * starts at aOff + m*lda: lda is K, or less where rows overlap (the stem's patches). j0 and j1
     * are multiples of {@link #panel()} or N. {@code res} is null without a residual.
     * {@code scratch} holds {@link #scratchFloats()} floats that no other thread uses.
     */
    void gemm(float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, Activation act,
              float[] res, int resOff, float[] c, int cOff, int m0, int m1, int j0, int j1, float[] scratch);

    /** All columns: {@link #gemm} over [0, n). */
    default void pointwise(float[] a, int aOff, int k, float[] b, int n, float[] bias, Activation act,
                           float[] res, int resOff, float[] c, int cOff, int m0, int m1, float[] scratch) {
        gemm(a, aOff, k, k, b, n, bias, act, res, resOff, c, cOff, m0, m1, 0, n, scratch);
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
    default void channelSums(float[] x, int off, int pixels, int channels, float[] sums) {
        channelSums(x, off, pixels, channels, channels, sums);
    }

    /**
     * sums[c] = x[off + p*stride + c] summed over p in [0, pixels), c in [0, channels): a range of
     * a map's channels (threads split one image's channels), each summed in the same order as in
     * the whole map's sums.
     */
    void channelSums(float[] x, int off, int pixels, int stride, int channels, float[] sums);

    /** x[p][c] *= scale[scaleOff + c] for {@code pixels} pixels of {@code channels} from {@code off}: the SE scale. */
    void scaleChannels(float[] x, int off, int pixels, int channels, float[] scale, int scaleOff);

    /** Columns per weight panel: the GEMM's register tile width. */
    int panel();

    /** Floats of the per-thread scratch space {@link #gemm} needs. */
    int scratchFloats();

    /** Weights [n out][k in] in the panel layout {@link #gemm} reads. */
    default PackedWeights pack(float[] outIn, float[] bias, int n, int k) {
        return PackedWeights.pack(outIn, bias, n, k, panel(), panel() / 2);
    }

    /** Bits per vector register the kernels use; 0 for plain loops. */
    int vectorBits();

    /** What runs, in a few words: the width and tile, or why plain loops. */
    String describe();

    /**
     * The vector kernels for this JVM: the Vector API at the preferred width (or the one forced with
     * -Dmnv3.cpu.vectorBits) when C2 compiles it to vector instructions, plain loops otherwise.
     */
    static CpuKernels best() {
        int bits = VectorSupport.requestedBits(); // a bad value is an error, whatever else is chosen
        VectorSupport.tileRows(0);
        if (!VectorSupport.MODULE_LOADED) return new ScalarKernels("jdk.incubator.vector is not loaded: add --add-modules jdk.incubator.vector");
        String problem = VectorKernels.intrinsicsProblem();
        // a forced width runs even where C2 cannot compile it (tests check every width on every machine)
        if (problem != null && bits == 0) return new ScalarKernels("the Vector API would not be compiled here: " + problem);
        return new VectorKernels();
    }
}
