package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels} with the Vector API at the widest width C2 compiles here (or the one forced
 * with -Dmnv3.cpu.vectorBits): L floats per vector. The 1x1 convolution is a GEMM over panels of
 * 2L columns with an MR x 2L register tile: at 256 bits 6 rows (12 accumulators + 2 weight vectors
 * + 1 broadcast fill AVX2's 16 registers), at 512 bits 12 rows (24 + 2 + 1 of AVX-512's 32), so
 * each k-step does 2*MR FMAs for 2 vector loads and MR broadcasts. Tiles are written out
 * long-hand because C2 keeps scalar-replaced locals in registers but not arrays, and each in a
 * method of its own: C2 stops inlining in big methods, and a vector operation left as a call
 * boxes its operands and runs the Java fallback.
 *
 * <p>Channel counts are multiples of 8, not always of L: the GEMM's last panel is stored rounded
 * up to whole vectors and its epilogue writes the last 8 columns with an 8-float vector; the
 * depthwise kernels run their last channel block at c - L, overlapping the previous one
 * (recomputing a few channels costs what a masked block would, and needs no second code path).
 */
final class VectorKernels implements Kernels {
    static final VectorSpecies<Float> S = chooseSpecies();
    static final int L = S.length();
    /** The 8-float vector for the last columns of a row when L is 16 (every channel count is a multiple of 8). */
    private static final VectorSpecies<Float> H = FloatVector.SPECIES_256;
    private static final int HL = 8;
    private static final int PANEL = 2 * L;
    /** Rows of the register tile: twice as many vector registers at 512 bits. */
    private static final int MR = L >= 16 ? 12 : 6;
    /** The plain loops, for a depthwise conv narrower than one vector (a tiny width multiplier). */
    private static final Kernels NARROW = new ScalarKernels("narrow layers");

    /** Weight panels processed together are kept under this many bytes, so they stay in L2 while every row tile passes. */
    private static final int PANEL_BLOCK_BYTES = 192 * 1024;

    private static VectorSpecies<Float> chooseSpecies() {
        int bits;
        try {
            bits = VectorSupport.requestedBits();
        } catch (IllegalArgumentException e) {
            bits = 0; // reported by Kernels.best() before this class is used
        }
        if (bits == 0) {
            int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
            bits = preferred >= 512 ? 512 : preferred >= 256 ? 256 : 128;
        }
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
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
        return MR * PANEL;
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
        return String.format("Vector API, %d-bit vectors (%d floats), %dx%d GEMM tiles%s", S.vectorBitSize(), L, MR, PANEL,
                problem == null ? "" : "; NOT compiled to vector instructions (" + problem + "): every vector operation runs as a Java loop");
    }

    @Override
    public void gemm(float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, Activation act,
                     float[] res, int resOff, float[] c, int cOff, int m0, int m1, int colFrom, int colTo, float[] t) {
        ClampForm f = ClampForm.of(act);
        int block = Math.max(PANEL, PANEL_BLOCK_BYTES / (4 * k) / PANEL * PANEL);
        for (int jb = colFrom; jb < colTo; jb += block) {
            int jEnd = Math.min(colTo, jb + block);
            // rows outer, panels inner: a row tile of A stays in L1 while the block's panels stream from L2
            int m = m0;
            for (; m + MR <= m1; m += MR) rowTile(MR, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m, jb, jEnd, t);
            for (; m + 6 <= m1; m += 6) rowTile(6, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m, jb, jEnd, t);
            if (m1 - m >= 2 && m1 - m0 >= 6) {
                // a last 6-row tile overlapping the previous one: recomputing up to 4 rows beats the single-row kernel
                rowTile(6, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m1 - 6, jb, jEnd, t);
                m = m1;
            }
            for (; m < m1; m++) rowTile(1, a, aOff, lda, k, b, n, bias, f, res, resOff, c, cOff, m, jb, jEnd, t);
        }
    }

    /** Rows [m, m + rows) x the panels of columns [j0, j1): raw sums into t, then bias, activation and residual into C. */
    private static void rowTile(int rows, float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, ClampForm f,
                                float[] res, int resOff, float[] c, int cOff, int m, int j0, int j1, float[] t) {
        int a0 = aOff + m * lda;
        for (int j = j0; j < j1; j += PANEL) {
            int cols = Math.min(PANEL, n - j), b0 = j * k;
            boolean two = cols > L;
            if (rows == 12) {
                if (two) tile12x2(a, a0, lda, k, b, b0, t);
                else tile12x1(a, a0, lda, k, b, b0, t);
            } else if (rows == 6) {
                if (two) tile6x2(a, a0, lda, k, b, b0, t);
                else tile6x1(a, a0, lda, k, b, b0, t);
            } else {
                row(a, a0, k, b, b0, two ? PANEL : L, t);
            }
            epilogue(t, rows, cols, bias, j, f, res, resOff + m * n + j, c, cOff + m * n + j, n);
        }
    }

    /** T[12][2L] = A[12][k] (rows lda apart) x the panel at b0 (k-major, 2L wide). */
    private static void tile12x2(float[] a, int a0, int lda, int k, float[] b, int b0, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        FloatVector c60 = z, c61 = z, c70 = z, c71 = z, c80 = z, c81 = z, c90 = z, c91 = z, ca0 = z, ca1 = z, cb0 = z, cb1 = z;
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        int a6 = a5 + lda, a7 = a6 + lda, a8 = a7 + lda, a9 = a8 + lda, a10 = a9 + lda, a11 = a10 + lda;
        for (int p = 0; p < k; p++) {
            int bo = b0 + p * PANEL;
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
            av = FloatVector.broadcast(S, a[a6 + p]);
            c60 = av.fma(b0v, c60);
            c61 = av.fma(b1v, c61);
            av = FloatVector.broadcast(S, a[a7 + p]);
            c70 = av.fma(b0v, c70);
            c71 = av.fma(b1v, c71);
            av = FloatVector.broadcast(S, a[a8 + p]);
            c80 = av.fma(b0v, c80);
            c81 = av.fma(b1v, c81);
            av = FloatVector.broadcast(S, a[a9 + p]);
            c90 = av.fma(b0v, c90);
            c91 = av.fma(b1v, c91);
            av = FloatVector.broadcast(S, a[a10 + p]);
            ca0 = av.fma(b0v, ca0);
            ca1 = av.fma(b1v, ca1);
            av = FloatVector.broadcast(S, a[a11 + p]);
            cb0 = av.fma(b0v, cb0);
            cb1 = av.fma(b1v, cb1);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, PANEL);
        c11.intoArray(t, PANEL + L);
        c20.intoArray(t, 2 * PANEL);
        c21.intoArray(t, 2 * PANEL + L);
        c30.intoArray(t, 3 * PANEL);
        c31.intoArray(t, 3 * PANEL + L);
        c40.intoArray(t, 4 * PANEL);
        c41.intoArray(t, 4 * PANEL + L);
        c50.intoArray(t, 5 * PANEL);
        c51.intoArray(t, 5 * PANEL + L);
        c60.intoArray(t, 6 * PANEL);
        c61.intoArray(t, 6 * PANEL + L);
        c70.intoArray(t, 7 * PANEL);
        c71.intoArray(t, 7 * PANEL + L);
        c80.intoArray(t, 8 * PANEL);
        c81.intoArray(t, 8 * PANEL + L);
        c90.intoArray(t, 9 * PANEL);
        c91.intoArray(t, 9 * PANEL + L);
        ca0.intoArray(t, 10 * PANEL);
        ca1.intoArray(t, 10 * PANEL + L);
        cb0.intoArray(t, 11 * PANEL);
        cb1.intoArray(t, 11 * PANEL + L);
    }

    /** T[12][L] for a last panel one vector wide (stored L wide). */
    private static void tile12x1(float[] a, int a0, int lda, int k, float[] b, int b0, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z, c8 = z, c9 = z, c10 = z, c11 = z;
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        int a6 = a5 + lda, a7 = a6 + lda, a8 = a7 + lda, a9 = a8 + lda, a10 = a9 + lda, a11 = a10 + lda;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, b0 + p * L);
            c0 = FloatVector.broadcast(S, a[a0 + p]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[a1 + p]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[a2 + p]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[a3 + p]).fma(bv, c3);
            c4 = FloatVector.broadcast(S, a[a4 + p]).fma(bv, c4);
            c5 = FloatVector.broadcast(S, a[a5 + p]).fma(bv, c5);
            c6 = FloatVector.broadcast(S, a[a6 + p]).fma(bv, c6);
            c7 = FloatVector.broadcast(S, a[a7 + p]).fma(bv, c7);
            c8 = FloatVector.broadcast(S, a[a8 + p]).fma(bv, c8);
            c9 = FloatVector.broadcast(S, a[a9 + p]).fma(bv, c9);
            c10 = FloatVector.broadcast(S, a[a10 + p]).fma(bv, c10);
            c11 = FloatVector.broadcast(S, a[a11 + p]).fma(bv, c11);
        }
        c0.intoArray(t, 0);
        c1.intoArray(t, PANEL);
        c2.intoArray(t, 2 * PANEL);
        c3.intoArray(t, 3 * PANEL);
        c4.intoArray(t, 4 * PANEL);
        c5.intoArray(t, 5 * PANEL);
        c6.intoArray(t, 6 * PANEL);
        c7.intoArray(t, 7 * PANEL);
        c8.intoArray(t, 8 * PANEL);
        c9.intoArray(t, 9 * PANEL);
        c10.intoArray(t, 10 * PANEL);
        c11.intoArray(t, 11 * PANEL);
    }

    /** T[6][2L] = A[6][k] (rows lda apart) x the panel at b0. */
    private static void tile6x2(float[] a, int a0, int lda, int k, float[] b, int b0, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int p = 0; p < k; p++) {
            int bo = b0 + p * PANEL;
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
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, PANEL);
        c11.intoArray(t, PANEL + L);
        c20.intoArray(t, 2 * PANEL);
        c21.intoArray(t, 2 * PANEL + L);
        c30.intoArray(t, 3 * PANEL);
        c31.intoArray(t, 3 * PANEL + L);
        c40.intoArray(t, 4 * PANEL);
        c41.intoArray(t, 4 * PANEL + L);
        c50.intoArray(t, 5 * PANEL);
        c51.intoArray(t, 5 * PANEL + L);
    }

    private static void tile6x1(float[] a, int a0, int lda, int k, float[] b, int b0, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z;
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, b0 + p * L);
            c0 = FloatVector.broadcast(S, a[a0 + p]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[a1 + p]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[a2 + p]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[a3 + p]).fma(bv, c3);
            c4 = FloatVector.broadcast(S, a[a4 + p]).fma(bv, c4);
            c5 = FloatVector.broadcast(S, a[a5 + p]).fma(bv, c5);
        }
        c0.intoArray(t, 0);
        c1.intoArray(t, PANEL);
        c2.intoArray(t, 2 * PANEL);
        c3.intoArray(t, 3 * PANEL);
        c4.intoArray(t, 4 * PANEL);
        c5.intoArray(t, 5 * PANEL);
    }

    /** T[1][width] for one row: the M remainder. */
    private static void row(float[] a, int a0, int k, float[] b, int b0, int width, float[] t) {
        for (int j = 0; j < width; j += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < k; p++) {
                acc = FloatVector.broadcast(S, a[a0 + p]).fma(FloatVector.fromArray(S, b, b0 + p * width + j), acc);
            }
            acc.intoArray(t, j);
        }
    }

    /**
     * C[rows][cols] at c0 (rows ldc apart) = act(T + bias[j..]) (+ R at r0): the tile leaves the
     * L1-resident scratch once. The activation is written out here rather than called, so that
     * no vector crosses a call that C2 might not inline.
     */
    private static void epilogue(float[] t, int rows, int cols, float[] bias, int j, ClampForm f, float[] res, int r0,
                                 float[] c, int c0, int ldc) {
        float scale = f.scale(), shift = f.shift(), lo = f.lo(), hi = f.hi();
        boolean act = !f.identity(), times = f.timesInput();
        for (int r = 0; r < rows; r++) {
            int x = 0, to = r * PANEL, co = c0 + r * ldc, ro = r0 + r * ldc;
            for (; x + L <= cols; x += L) {
                FloatVector v = FloatVector.fromArray(S, t, to + x).add(FloatVector.fromArray(S, bias, j + x));
                if (act) {
                    FloatVector g = v.fma(scale, shift).max(lo).min(hi);
                    v = times ? v.mul(g) : g;
                }
                if (res != null) v = v.add(FloatVector.fromArray(S, res, ro + x));
                v.intoArray(c, co + x);
            }
            if (x < cols) { // the last 8 columns when L is 16
                FloatVector v = FloatVector.fromArray(H, t, to + x).add(FloatVector.fromArray(H, bias, j + x));
                if (act) {
                    FloatVector g = v.fma(scale, shift).max(lo).min(hi);
                    v = times ? v.mul(g) : g;
                }
                if (res != null) v = v.add(FloatVector.fromArray(H, res, ro + x));
                v.intoArray(c, co + x);
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

    @Override
    public void depthwisePaddedRow(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, Activation act,
                                   float[] out, int outOff) {
        if (g.channels() < L) {
            NARROW.depthwisePaddedRow(g, in, rows, w, bias, act, out, outOff);
            return;
        }
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
        activateRange(out, outOff, ow * g.channels(), ClampForm.of(act));
    }

    private static void window3s1(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, float[] out, int outOff, int ox) {
        int c = g.channels(), x0 = ox * c, o = outOff + ox * c;
        for (int i = 0, cb = 0, nb = blocks(c); i < nb; i++, cb = nextBlock(cb, c)) {
            FloatVector a0 = FloatVector.fromArray(S, bias, cb), a1 = a0, a2 = a0, a3 = a0;
            for (int ky = 0; ky < 3; ky++) {
                if (rows[ky] < 0) continue;
                int p = rows[ky] + x0 + cb, wo = ky * 3 * c + cb;
                FloatVector w0 = FloatVector.fromArray(S, w, wo), w1 = FloatVector.fromArray(S, w, wo + c),
                        w2 = FloatVector.fromArray(S, w, wo + 2 * c);
                FloatVector v0 = FloatVector.fromArray(S, in, p), v1 = FloatVector.fromArray(S, in, p + c),
                        v2 = FloatVector.fromArray(S, in, p + 2 * c), v3 = FloatVector.fromArray(S, in, p + 3 * c),
                        v4 = FloatVector.fromArray(S, in, p + 4 * c), v5 = FloatVector.fromArray(S, in, p + 5 * c);
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
        for (int i = 0, cb = 0, nb = blocks(c); i < nb; i++, cb = nextBlock(cb, c)) {
            FloatVector a0 = FloatVector.fromArray(S, bias, cb), a1 = a0, a2 = a0, a3 = a0;
            for (int ky = 0; ky < 3; ky++) {
                if (rows[ky] < 0) continue;
                int p = rows[ky] + x0 + cb, wo = ky * 3 * c + cb;
                FloatVector w0 = FloatVector.fromArray(S, w, wo), w1 = FloatVector.fromArray(S, w, wo + c),
                        w2 = FloatVector.fromArray(S, w, wo + 2 * c);
                FloatVector v0 = FloatVector.fromArray(S, in, p), v1 = FloatVector.fromArray(S, in, p + c),
                        v2 = FloatVector.fromArray(S, in, p + 2 * c), v3 = FloatVector.fromArray(S, in, p + 3 * c),
                        v4 = FloatVector.fromArray(S, in, p + 4 * c);
                a0 = v2.fma(w2, v1.fma(w1, v0.fma(w0, a0)));
                a1 = v4.fma(w2, v3.fma(w1, v2.fma(w0, a1)));
                v0 = FloatVector.fromArray(S, in, p + 5 * c);
                v1 = FloatVector.fromArray(S, in, p + 6 * c);
                v2 = FloatVector.fromArray(S, in, p + 7 * c);
                v3 = FloatVector.fromArray(S, in, p + 8 * c);
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
        for (int i = 0, cb = 0, nb = blocks(c); i < nb; i++, cb = nextBlock(cb, c)) {
            FloatVector a0 = FloatVector.fromArray(S, bias, cb), a1 = a0, a2 = a0, a3 = a0;
            for (int ky = 0; ky < 5; ky++) {
                if (rows[ky] < 0) continue;
                int p0 = rows[ky] + x0 + cb, wo = ky * 5 * c + cb;
                for (int kx = 0; kx < 5; kx++) {
                    FloatVector wv = FloatVector.fromArray(S, w, wo + kx * c);
                    int p = p0 + kx * c;
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
        for (int i = 0, cb = 0, nb = blocks(c); i < nb; i++, cb = nextBlock(cb, c)) {
            FloatVector acc = FloatVector.fromArray(S, bias, cb);
            for (int ky = 0; ky < k; ky++) {
                if (rows[ky] < 0) continue;
                int p = rows[ky] + x0 + cb, wo = ky * k * c + cb;
                for (int kx = 0; kx < k; kx++) {
                    acc = FloatVector.fromArray(S, in, p + kx * dc).fma(FloatVector.fromArray(S, w, wo + kx * c), acc);
                }
            }
            acc.intoArray(out, outOff + ox * c + cb);
        }
    }

    /** x[from, from + len) = act(x) in place; len is a multiple of 8. */
    private static void activateRange(float[] x, int from, int len, ClampForm f) {
        if (f.identity()) return;
        float scale = f.scale(), shift = f.shift(), lo = f.lo(), hi = f.hi();
        boolean times = f.timesInput();
        int i = from, end = from + len;
        for (; i + L <= end; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            FloatVector g = v.fma(scale, shift).max(lo).min(hi);
            (times ? v.mul(g) : g).intoArray(x, i);
        }
        for (; i < end; i += HL) { // the last 8 when L is 16
            FloatVector v = FloatVector.fromArray(H, x, i);
            FloatVector g = v.fma(scale, shift).max(lo).min(hi);
            (times ? v.mul(g) : g).intoArray(x, i);
        }
    }

    @Override
    public void channelSums(float[] x, int off, int pixels, int channels, float[] sums) {
        if (channels < L) {
            NARROW.channelSums(x, off, pixels, channels, sums);
            return;
        }
        for (int i = 0, cb = 0, nb = blocks(channels); i < nb; i++, cb = nextBlock(cb, channels)) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < pixels; p++) acc = acc.add(FloatVector.fromArray(S, x, off + p * channels + cb));
            acc.intoArray(sums, cb);
        }
    }
}
