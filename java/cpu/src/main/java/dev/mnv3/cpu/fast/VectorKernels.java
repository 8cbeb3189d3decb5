package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link CpuKernels} with the Vector API at the widest width C2 compiles here (or the one forced
 * with -Dmnv3.cpu.vectorBits): L floats per vector. The 1x1 convolution is a GEMM over panels of
 * 2L columns with R x 2L register tiles ({@link GemmTiles6}, {@link GemmTiles4}; R = 6 with AVX-512's 32 vector
 * registers, 4 with AVX2's 16) that add the bias, activate, add the residual and store
 * in registers: measured on Zen 5 at 512 bits, that beats a 12-row tile (24 accumulators) with
 * the epilogue as a separate pass over an L1 scratch tile at every K, the most at small K. A
 * 12-row tile in registers as well was 2-3x slower: too big for C2, which stops inlining in big
 * methods, and a vector operation left as a call boxes its operands and runs the Java fallback.
 *
 * <p>Channel counts are multiples of 8, not always of L: the GEMM's last panel is stored rounded
 * up to whole vectors and its epilogue writes the last 8 columns with a masked store; the
 * depthwise kernels run their last channel block at c - L, overlapping the previous one
 * (recomputing a few channels costs what a masked block would, and needs no second code path).
 */
final class VectorKernels implements CpuKernels {
    static final VectorSpecies<Float> S = chooseSpecies();
    static final int L = S.length();
    /** The last 8 columns of a row when L is 16 (channel counts are multiples of 8): one species only, see ARCHITECTURE.md. */
    private static final VectorMask<Float> FIRST_8 = VectorMask.fromLong(S, 0xFFL);
    private static final int PANEL = 2 * L;
    /** Rows of the GEMM's register tiles: 6, or 4 where C2 has only 16 vector registers ({@link VectorSupport#tileRows}). */
    static final int R = chooseTileRows();
    /** The plain loops, for a depthwise conv narrower than one vector (a tiny width multiplier). */
    private static final CpuKernels NARROW = new ScalarKernels("narrow layers");

    /** Weight panels processed together are kept under this many bytes, so they stay in L2 while every row tile passes. */
    private static final int PANEL_BLOCK_BYTES = 192 * 1024;

    private static VectorSpecies<Float> chooseSpecies() {
        int bits;
        try {
            bits = VectorSupport.requestedBits();
        } catch (IllegalArgumentException e) {
            bits = 0; // reported by CpuKernels.best() before this class is used
        }
        if (bits == 0) {
            int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
            bits = preferred >= 512 ? 512 : preferred >= 256 ? 256 : 128;
        }
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    private static int chooseTileRows() {
        try {
            return VectorSupport.tileRows(FloatVector.SPECIES_PREFERRED.vectorBitSize());
        } catch (IllegalArgumentException e) {
            return 6; // reported by CpuKernels.best() before this class is used
        }
    }

    /**
     * Why C2 would not compile this width to vector instructions, or null: the JVM's compiler
     * settings, or a width beyond the largest vector C2 supports on this CPU (the preferred
     * species is that largest vector, and 64 bits where C2 is absent).
     */
    static String intrinsicsProblem() {
        String p = VectorSupport.compilerProblem();
        if (p != null) return p;
        int max = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (max < 128) return "C2 supports no vectors of 128 bits or more on this machine";
        if (S.vectorBitSize() > max) return S.vectorBitSize() + "-bit vectors are wider than this CPU's " + max + " bits";
        return null;
    }

    @Override
    public int panel() {
        return PANEL;
    }

    @Override
    public int scratchFloats() {
        return 2 * R * PANEL; // the tallest tile
    }

    @Override
    public PackedWeights pack(float[] outIn, float[] bias, int n, int k) {
        return PackedWeights.pack(outIn, bias, n, k, PANEL, L);
    }

    @Override
    public int vectorBits() {
        return S.vectorBitSize();
    }

    @Override
    public String describe() {
        String problem = intrinsicsProblem();
        return String.format("Vector API, %d-bit vectors (%d floats), %dx%d GEMM tiles%s", S.vectorBitSize(), L, R, PANEL,
                problem == null ? "" : "; NOT compiled to vector instructions (" + problem + "): every vector operation runs as a Java loop");
    }

    @Override
    public void gemm(float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, Activation act,
                     float[] res, int resOff, float[] c, int cOff, int m0, int m1, int colFrom, int colTo, float[] t) {
        ClampForm f = ClampForm.of(act);
        if (Pointwise16x16.fits(lda, k, n, colFrom, colTo)) { // one output vector per pixel: broadcast-bound in these tiles
            Pointwise16x16.run(a, aOff, b, bias, f, res, resOff, c, cOff, m0, m1);
            return;
        }
        int block = Math.max(PANEL, PANEL_BLOCK_BYTES / (4 * k) / PANEL * PANEL);
        for (int jb = colFrom; jb < colTo; jb += block) {
            int jEnd = Math.min(colTo, jb + block);
            // rows outer, panels inner: a row tile of A stays in L1 while the block's panels stream from L2
            int m = m0;
            for (; m + 2 * R <= m1; m += 2 * R) rowTile(2 * R, R, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m, jb, jEnd, t);
            if (R == 6 && (m1 - m == 8 || m1 - m == 9)) { // two 4-row tiles rather than 6 and an overlapping 6
                rowTile(8, 4, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m, jb, jEnd, t);
                m += 8;
            }
            for (; m + R <= m1; m += R) rowTile(R, R, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m, jb, jEnd, t);
            // a last tile overlapping the previous one, recomputing a few rows, beats the single-row kernel (which
            // loads a weight per FMA); with R = 6, 2-4 rows left take a 4-row tile
            int last = R == 6 && m1 - m <= 4 ? 4 : R;
            if (m1 - m >= 2 && m1 - m0 >= last) {
                rowTile(last, last, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m1 - last, jb, jEnd, t);
                m = m1;
            } else if (R == 6 && m1 - m == 5) { // M = 5
                rowTile(4, 4, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m, jb, jEnd, t);
                m += 4;
            }
            for (; m < m1; m++) rowTile(1, 1, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m, jb, jEnd, t);
        }
    }

    /**
     * Rows [m, m + rows) (2R, R, 8 or 4 in tiles of h rows, or 1) x the panels of columns [j0, j1). Panels of whole vectors go
     * to the fused tiles, which finish in registers; a last panel narrower than its vectors (the
     * last 8 columns when L is 16), R rows of a one-vector panel and single rows leave their
     * sums in the scratch tile t for the epilogue.
     */
    private static void rowTile(int rows, int h, float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, ClampForm f,
                                float[] res, int resOff, float[] c, int cOff, int m, int j0, int j1, float[] t) {
        int a0 = aOff + m * lda;
        for (int j = j0; j < j1; j += PANEL) {
            int cols = Math.min(PANEL, n - j), b0 = j * k, co = cOff + m * n + j, ro = resOff + m * n + j;
            if (rows > 1 && cols == PANEL) {
                for (int r = 0; r < rows; r += h) {
                    if (h == 6) GemmTiles6.fused6x2(a, a0 + r * lda, lda, k, b, b0, bias, j, f, res, ro + r * n, c, co + r * n, n);
                    else GemmTiles4.fused4x2(a, a0 + r * lda, lda, k, b, b0, bias, j, f, res, ro + r * n, c, co + r * n, n);
                }
            } else if (rows == 2 * R && h == R && cols == L) {
                if (R == 6) GemmTiles6.fused12x1(a, a0, lda, k, b, b0, bias, j, f, res, ro, c, co, n);
                else GemmTiles4.fused8x1(a, a0, lda, k, b, b0, bias, j, f, res, ro, c, co, n);
            } else {
                boolean two = cols > L;
                if (rows == 1) {
                    row(a, a0, k, b, b0, two ? PANEL : L, bias, j, t, 0);
                } else {
                    for (int r = 0; r < rows; r += h) {
                        int a1 = a0 + r * lda;
                        if (h == 6) {
                            if (two) GemmTiles6.raw6x2(a, a1, lda, k, b, b0, bias, j, t, r * PANEL, PANEL);
                            else GemmTiles6.raw6x1(a, a1, lda, k, b, b0, bias, j, t, r * PANEL, PANEL);
                        } else {
                            if (two) GemmTiles4.raw4x2(a, a1, lda, k, b, b0, bias, j, t, r * PANEL, PANEL);
                            else GemmTiles4.raw4x1(a, a1, lda, k, b, b0, bias, j, t, r * PANEL, PANEL);
                        }
                    }
                }
                epilogue(t, rows, cols, f, res, ro, c, co, n);
            }
        }
    }

    /**
     * T[1][width] for one row: the M remainder, and the classifier at batch 1 (a matrix-vector
     * product that streams its weights once). Four k-steps in flight, each with accumulators of
     * its own, so that the FMA latency does not serialize the loop.
     */
    private static void row(float[] a, int a0, int k, float[] b, int b0, int width, float[] bias, int j, float[] t, int t0) {
        if (width == L) {
            rowVector(a, a0, k, b, b0, bias, j, t, t0);
            return;
        }
        FloatVector z = FloatVector.zero(S);
        FloatVector s0 = FloatVector.fromArray(S, bias, j), s1 = FloatVector.fromArray(S, bias, j + L);
        FloatVector u0 = z, u1 = z, v0 = z, v1 = z, w0 = z, w1 = z;
        int p = 0;
        for (; p + 4 <= k; p += 4) {
            int bo = b0 + p * PANEL;
            FloatVector x = FloatVector.broadcast(S, a[a0 + p]);
            s0 = x.fma(FloatVector.fromArray(S, b, bo), s0);
            s1 = x.fma(FloatVector.fromArray(S, b, bo + L), s1);
            x = FloatVector.broadcast(S, a[a0 + p + 1]);
            u0 = x.fma(FloatVector.fromArray(S, b, bo + PANEL), u0);
            u1 = x.fma(FloatVector.fromArray(S, b, bo + PANEL + L), u1);
            x = FloatVector.broadcast(S, a[a0 + p + 2]);
            v0 = x.fma(FloatVector.fromArray(S, b, bo + 2 * PANEL), v0);
            v1 = x.fma(FloatVector.fromArray(S, b, bo + 2 * PANEL + L), v1);
            x = FloatVector.broadcast(S, a[a0 + p + 3]);
            w0 = x.fma(FloatVector.fromArray(S, b, bo + 3 * PANEL), w0);
            w1 = x.fma(FloatVector.fromArray(S, b, bo + 3 * PANEL + L), w1);
        }
        for (; p < k; p++) {
            int bo = b0 + p * PANEL;
            FloatVector x = FloatVector.broadcast(S, a[a0 + p]);
            s0 = x.fma(FloatVector.fromArray(S, b, bo), s0);
            s1 = x.fma(FloatVector.fromArray(S, b, bo + L), s1);
        }
        s0.add(u0).add(v0.add(w0)).intoArray(t, t0);
        s1.add(u1).add(v1.add(w1)).intoArray(t, t0 + L);
    }

    /** {@link #row} for a panel one vector wide. */
    private static void rowVector(float[] a, int a0, int k, float[] b, int b0, float[] bias, int j, float[] t, int t0) {
        FloatVector z = FloatVector.zero(S);
        FloatVector s = FloatVector.fromArray(S, bias, j), u = z, v = z, w = z;
        int p = 0;
        for (; p + 4 <= k; p += 4) {
            int bo = b0 + p * L;
            s = FloatVector.broadcast(S, a[a0 + p]).fma(FloatVector.fromArray(S, b, bo), s);
            u = FloatVector.broadcast(S, a[a0 + p + 1]).fma(FloatVector.fromArray(S, b, bo + L), u);
            v = FloatVector.broadcast(S, a[a0 + p + 2]).fma(FloatVector.fromArray(S, b, bo + 2 * L), v);
            w = FloatVector.broadcast(S, a[a0 + p + 3]).fma(FloatVector.fromArray(S, b, bo + 3 * L), w);
        }
        for (; p < k; p++) s = FloatVector.broadcast(S, a[a0 + p]).fma(FloatVector.fromArray(S, b, b0 + p * L), s);
        s.add(u).add(v.add(w)).intoArray(t, t0);
    }

    /**
     * C[rows][cols] at c0 (rows ldc apart) = act(T) (+ R at r0): the tile leaves the L1-resident
     * scratch once. The activation is written out here rather than called, so that no vector
     * crosses a call that C2 might not inline.
     */
    private static void epilogue(float[] t, int rows, int cols, ClampForm f, float[] res, int r0, float[] c, int c0, int ldc) {
        float scale = f.scale(), shift = f.shift(), lo = f.lo(), hi = f.hi();
        boolean act = !f.identity(), times = f.timesInput();
        for (int r = 0; r < rows; r++) {
            int x = 0, to = r * PANEL, co = c0 + r * ldc, ro = r0 + r * ldc;
            for (; x + L <= cols; x += L) {
                FloatVector v = FloatVector.fromArray(S, t, to + x);
                if (act) {
                    FloatVector g = v.fma(scale, shift).max(lo).min(hi);
                    v = times ? v.mul(g) : g;
                }
                if (res != null) v = v.add(FloatVector.fromArray(S, res, ro + x));
                v.intoArray(c, co + x);
            }
            if (x < cols) { // the last 8 columns when L is 16
                FloatVector v = FloatVector.fromArray(S, t, to + x);
                if (act) {
                    FloatVector g = v.fma(scale, shift).max(lo).min(hi);
                    v = times ? v.mul(g) : g;
                }
                if (res != null) v = v.add(FloatVector.fromArray(S, res, ro + x, FIRST_8));
                v.intoArray(c, co + x, FIRST_8);
            }
        }
    }

    /** Channel blocks of the depthwise kernels: L channels from cb, the last block ending at c (see the class comment). */
    private static int blocks(int c) {
        return (c + L - 1) / L;
    }

    private static int nextBlock(int cb, int c) {
        return Math.min(cb + L, c - L);
    }

    /**
     * Channel blocks outermost: one block's weights and input columns (a few kB) stay in L1 while
     * it sweeps the row, where a pass over all channels per output would stream the wide late
     * layers' rows from L2 for every group of outputs. Groups of 8 and 4 outputs (of 7 where the
     * row is a multiple of 7 but not of 8) go to the sliding-window kernels
     * ({@link DepthwiseWindows}), the rest one by one. The activation is
     * applied as outputs are stored.
     */
    @Override
    public void depthwisePaddedRow(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, Activation act,
                                   float[] out, int outOff) {
        int c = g.channels();
        if (c < L) {
            NARROW.depthwisePaddedRow(g, in, rows, w, bias, act, out, outOff);
            return;
        }
        ClampForm f = ClampForm.of(act);
        int k = g.kernel(), s = g.stride(), ow = g.outWidth();
        boolean windows = g.dilation() == 1 && (k == 3 || k == 5) && (s == 1 || s == 2);
        // the 7- and 14-wide rows of the late layers in groups of 7: 8 + 4 would leave 3 or 2 outputs to the one-by-one loop
        boolean sevens = windows && ow % 8 != 0 && ow % 7 == 0;
        int eights = windows && !sevens ? ow / 8 : 0, fours = windows && !sevens ? ow % 8 / 4 : 0;
        int done = sevens ? ow : 8 * eights + 4 * fours;
        for (int i = 0, cb = 0, nb = blocks(c); i < nb; i++, cb = nextBlock(cb, c)) {
            if (sevens) DepthwiseWindows.run(k, s, 7, c, in, rows, w, bias, out, outOff, cb, 0, ow / 7, f);
            if (eights > 0) DepthwiseWindows.run(k, s, 8, c, in, rows, w, bias, out, outOff, cb, 0, eights, f);
            if (fours > 0) DepthwiseWindows.run(k, s, 4, c, in, rows, w, bias, out, outOff, cb, 8 * eights, 1, f);
            for (int ox = done; ox < ow; ox++) paddedOne(g, in, rows, w, bias, out, outOff, ox, cb, f);
        }
    }

    /**
     * One output of a padded row for one channel block, any kernel, stride and dilation: the
     * outputs the windows leave. Even and odd tap rows add into separate accumulators, two FMA
     * chains instead of one.
     */
    private static void paddedOne(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, float[] out, int outOff,
                                  int ox, int cb, ClampForm f) {
        int c = g.channels(), k = g.kernel(), dc = g.dilation() * c, p0 = ox * g.stride() * c + cb;
        FloatVector even = FloatVector.fromArray(S, bias, cb), odd = FloatVector.zero(S);
        for (int ky = 0; ky < k; ky++) {
            if (rows[ky] < 0) continue;
            int p = rows[ky] + p0, wo = ky * k * c + cb;
            for (int kx = 0; kx < k; kx++) {
                FloatVector t = FloatVector.fromArray(S, in, p + kx * dc);
                if ((ky & 1) == 0) even = t.fma(FloatVector.fromArray(S, w, wo + kx * c), even);
                else odd = t.fma(FloatVector.fromArray(S, w, wo + kx * c), odd);
            }
        }
        FloatVector acc = even.add(odd), gv = acc.fma(f.scale(), f.shift()).max(f.lo()).min(f.hi());
        (f.timesInput() ? acc.mul(gv) : gv).intoArray(out, outOff + ox * c + cb);
    }

    /** In place, so no overlapping last block: the last 8 channels (when L is 16) masked. */
    @Override
    public void scaleChannels(float[] x, int off, int pixels, int channels, float[] scale, int scaleOff) {
        for (int p = 0; p < pixels; p++) {
            int o = off + p * channels, ch = 0;
            for (; ch + L <= channels; ch += L) {
                FloatVector.fromArray(S, x, o + ch).mul(FloatVector.fromArray(S, scale, scaleOff + ch)).intoArray(x, o + ch);
            }
            if (ch < channels) { // the last 8 when L is 16
                FloatVector.fromArray(S, x, o + ch, FIRST_8).mul(FloatVector.fromArray(S, scale, scaleOff + ch, FIRST_8)).intoArray(x, o + ch, FIRST_8);
            }
        }
    }

    @Override
    public void channelSums(float[] x, int off, int pixels, int stride, int channels, float[] sums) {
        if (channels < L) {
            NARROW.channelSums(x, off, pixels, stride, channels, sums);
            return;
        }
        for (int i = 0, cb = 0, nb = blocks(channels); i < nb; i++, cb = nextBlock(cb, channels)) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < pixels; p++) acc = acc.add(FloatVector.fromArray(S, x, off + p * stride + cb));
            acc.intoArray(sums, cb);
        }
    }
}
