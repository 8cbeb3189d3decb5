package dev.mnv3.cpu.fast;

import static dev.mnv3.cpu.fast.VectorKernels.L;
import static dev.mnv3.cpu.fast.VectorKernels.S;

import jdk.incubator.vector.FloatVector;

/**
 * A 1x1 conv of 16 channels to 16 at 512 bits (Large's features.1 projection over 12544 pixels):
 * one output vector per pixel, so each of its 16 FMAs needs its own broadcast input value, and
 * broadcasts, not FMAs, bound the rate. The generic tiles also load a weight vector per k-step;
 * here the 16 weight vectors stay in registers for the whole call, and each pixel sums into four
 * accumulators (k mod 4) so that successive FMAs do not wait on each other. Measured on Zen 5:
 * 14 cycles per pixel against the 12-row tile's 24; more pixels per iteration were slower.
 */
final class Pointwise16x16 {
    /** Channels in and out. */
    static final int C = 16;

    private Pointwise16x16() {
    }

    /** Whether this kernel computes {@link VectorKernels#gemm}'s call for these sizes: K = N = 16 = L, A's rows adjacent, all columns. */
    static boolean fits(int lda, int k, int n, int colFrom, int colTo) {
        return L == C && k == C && lda == C && n == C && colFrom == 0 && colTo == C;
    }

    /** Rows [m0, m1) of C[M][16] = act(A[M][16] x B + bias) (+ R), B packed as [16 in][16 out]. */
    static void run(float[] a, int aOff, float[] b, float[] bias, ClampForm f, float[] res, int resOff, float[] c, int cOff,
                    int m0, int m1) {
        FloatVector w0 = FloatVector.fromArray(S, b, 0 * C), w1 = FloatVector.fromArray(S, b, 1 * C);
        FloatVector w2 = FloatVector.fromArray(S, b, 2 * C), w3 = FloatVector.fromArray(S, b, 3 * C);
        FloatVector w4 = FloatVector.fromArray(S, b, 4 * C), w5 = FloatVector.fromArray(S, b, 5 * C);
        FloatVector w6 = FloatVector.fromArray(S, b, 6 * C), w7 = FloatVector.fromArray(S, b, 7 * C);
        FloatVector w8 = FloatVector.fromArray(S, b, 8 * C), w9 = FloatVector.fromArray(S, b, 9 * C);
        FloatVector w10 = FloatVector.fromArray(S, b, 10 * C), w11 = FloatVector.fromArray(S, b, 11 * C);
        FloatVector w12 = FloatVector.fromArray(S, b, 12 * C), w13 = FloatVector.fromArray(S, b, 13 * C);
        FloatVector w14 = FloatVector.fromArray(S, b, 14 * C), w15 = FloatVector.fromArray(S, b, 15 * C);
        FloatVector z = FloatVector.zero(S), bv = FloatVector.fromArray(S, bias, 0);
        float scale = f.scale(), shift = f.shift(), lo = f.lo(), hi = f.hi();
        boolean act = !f.identity(), times = f.timesInput(), residual = res != null;
        for (int m = m0; m < m1; m++) {
            int a0 = aOff + m * C, o = m * C;
            FloatVector s0 = bv, s1 = z, s2 = z, s3 = z;
            s0 = FloatVector.broadcast(S, a[a0]).fma(w0, s0);
            s1 = FloatVector.broadcast(S, a[a0 + 1]).fma(w1, s1);
            s2 = FloatVector.broadcast(S, a[a0 + 2]).fma(w2, s2);
            s3 = FloatVector.broadcast(S, a[a0 + 3]).fma(w3, s3);
            s0 = FloatVector.broadcast(S, a[a0 + 4]).fma(w4, s0);
            s1 = FloatVector.broadcast(S, a[a0 + 5]).fma(w5, s1);
            s2 = FloatVector.broadcast(S, a[a0 + 6]).fma(w6, s2);
            s3 = FloatVector.broadcast(S, a[a0 + 7]).fma(w7, s3);
            s0 = FloatVector.broadcast(S, a[a0 + 8]).fma(w8, s0);
            s1 = FloatVector.broadcast(S, a[a0 + 9]).fma(w9, s1);
            s2 = FloatVector.broadcast(S, a[a0 + 10]).fma(w10, s2);
            s3 = FloatVector.broadcast(S, a[a0 + 11]).fma(w11, s3);
            s0 = FloatVector.broadcast(S, a[a0 + 12]).fma(w12, s0);
            s1 = FloatVector.broadcast(S, a[a0 + 13]).fma(w13, s1);
            s2 = FloatVector.broadcast(S, a[a0 + 14]).fma(w14, s2);
            s3 = FloatVector.broadcast(S, a[a0 + 15]).fma(w15, s3);
            FloatVector s = s0.add(s1).add(s2.add(s3));
            if (act) {
                FloatVector g = s.fma(scale, shift).max(lo).min(hi);
                s = times ? s.mul(g) : g;
            }
            if (residual) s = s.add(FloatVector.fromArray(S, res, resOff + o));
            s.intoArray(c, cOff + o);
        }
    }
}
