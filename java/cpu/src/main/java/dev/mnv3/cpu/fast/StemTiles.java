package dev.mnv3.cpu.fast;

import static dev.mnv3.cpu.fast.VectorKernels.L;
import static dev.mnv3.cpu.fast.VectorKernels.S;

import dev.mnv3.core.Activation;
import jdk.incubator.vector.FloatVector;

/**
 * The stem's output rows straight from the NCHW image, without the interleaved patch row of
 * {@link PreparedLayers.Stem#patchRow}: building that row (a scalar store per tap and pixel) took
 * about as long as the GEMM over it. For MobileNetV3's 3x3 stride-2 stem, a tile of {@link #ROWS}
 * adjacent output pixels x one vector of output channels loads each image column its windows
 * cover once, broadcasts it and feeds it to the one or two windows over it: eight independent FMA
 * chains in 8 + 3 + 1 registers, within AVX2's 16. Only interior pixels go this way, those whose
 * taps all fall inside the image; the one or two at the left and right edges build their own
 * zero-padded patch and run the GEMM's single-row path. Taps in a row of top or bottom padding
 * are skipped.
 */
final class StemTiles {
    static final int ROWS = 8;

    private StemTiles() {
    }

    /** Whether {@link #row} runs this stem: 3x3 at stride 2, whole vectors of outputs, a tile's worth of interior pixels. */
    static boolean fits(DepthwiseGeometry g, PackedWeights w) {
        return g.kernel() == 3 && g.stride() == 2 && w.paddedN % L == 0 && interiorEnd(g) - interiorFirst(g) >= ROWS;
    }

    /** The first output column whose taps all fall inside the image. */
    private static int interiorFirst(DepthwiseGeometry g) {
        return (g.pad() + g.stride() - 1) / g.stride();
    }

    /** The end of the interior output columns (at least {@link #interiorFirst}). */
    private static int interiorEnd(DepthwiseGeometry g) {
        int end = Math.min(g.outWidth(), Math.floorDiv(g.width() - g.kernel() + g.pad(), g.stride()) + 1);
        return Math.max(interiorFirst(g), end);
    }

    /**
     * Output row oy of the stem on the NCHW image at inOff into NHWC dst at dstOff ([ow][n]): act(conv + bias).
     * {@code patch} holds k*k*Cin floats and {@code tile} the GEMM's scratch, both this thread's own.
     */
    static void row(CpuKernels kernels, DepthwiseGeometry g, float[] in, int inOff, int oy, PackedWeights w, ClampForm f,
                    Activation act, float[] dst, int dstOff, float[] patch, float[] tile) {
        int k = g.kernel(), s = g.stride(), pad = g.pad(), n = w.paddedN, kk = w.k;
        int first = interiorFirst(g), end = interiorEnd(g);
        int top = oy * s - pad, kyLo = Math.max(0, -top), kyHi = Math.min(k, g.height() - top);
        for (int j = 0; j < n; j += L) {
            int j0 = j / w.panel * w.panel, width = w.width(j0), b0 = j0 * kk + j - j0;
            int ox = first;
            for (; ox + ROWS <= end; ox += ROWS) tile(g, in, inOff, top, kyLo, kyHi, ox, w, b0, width, j, f, dst, dstOff + ox * n + j);
            // a last tile overlapping the previous one: no tail loop
            if (ox < end) tile(g, in, inOff, top, kyLo, kyHi, end - ROWS, w, b0, width, j, f, dst, dstOff + (end - ROWS) * n + j);
        }
        for (int ox = 0; ox < g.outWidth(); ox++) {
            if (ox >= first && ox < end) continue;
            edgePatch(g, in, inOff, oy, ox, patch);
            kernels.gemm(patch, 0, kk, kk, w.data, n, w.bias, act, null, 0, dst, dstOff + ox * n, 0, 1, 0, n, tile);
        }
    }

    /**
     * ROWS pixels from column ox x one vector of channels from j, for a 3x3 kernel at stride 2: per
     * input row and channel, the 17 columns the 8 windows cover are each loaded once and fed to the
     * one or two windows over them (weights packed in (kx, ky, ci) order).
     */
    private static void tile(DepthwiseGeometry g, float[] in, int inOff, int top, int kyLo, int kyHi, int ox, PackedWeights pw,
                             int b0, int width, int j, ClampForm f, float[] c, int c0) {
        int cin = g.channels(), w = g.width(), plane = g.height() * w, ldc = pw.paddedN, kxStep = 3 * cin * width;
        float[] b = pw.data;
        FloatVector a0 = FloatVector.fromArray(S, pw.bias, j), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int x0 = inOff + ox * 2 - g.pad();
        for (int ky = kyLo; ky < kyHi; ky++) {
            for (int ci = 0; ci < cin; ci++) {
                int o = x0 + (top + ky) * w + ci * plane, p = b0 + (ky * cin + ci) * width;
                FloatVector w0 = FloatVector.fromArray(S, b, p), w1 = FloatVector.fromArray(S, b, p + kxStep);
                FloatVector w2 = FloatVector.fromArray(S, b, p + 2 * kxStep);
                FloatVector v = FloatVector.broadcast(S, in[o]);
                a0 = v.fma(w0, a0);
                v = FloatVector.broadcast(S, in[o + 1]);
                a0 = v.fma(w1, a0);
                v = FloatVector.broadcast(S, in[o + 2]);
                a0 = v.fma(w2, a0);
                a1 = v.fma(w0, a1);
                v = FloatVector.broadcast(S, in[o + 3]);
                a1 = v.fma(w1, a1);
                v = FloatVector.broadcast(S, in[o + 4]);
                a1 = v.fma(w2, a1);
                a2 = v.fma(w0, a2);
                v = FloatVector.broadcast(S, in[o + 5]);
                a2 = v.fma(w1, a2);
                v = FloatVector.broadcast(S, in[o + 6]);
                a2 = v.fma(w2, a2);
                a3 = v.fma(w0, a3);
                v = FloatVector.broadcast(S, in[o + 7]);
                a3 = v.fma(w1, a3);
                v = FloatVector.broadcast(S, in[o + 8]);
                a3 = v.fma(w2, a3);
                a4 = v.fma(w0, a4);
                v = FloatVector.broadcast(S, in[o + 9]);
                a4 = v.fma(w1, a4);
                v = FloatVector.broadcast(S, in[o + 10]);
                a4 = v.fma(w2, a4);
                a5 = v.fma(w0, a5);
                v = FloatVector.broadcast(S, in[o + 11]);
                a5 = v.fma(w1, a5);
                v = FloatVector.broadcast(S, in[o + 12]);
                a5 = v.fma(w2, a5);
                a6 = v.fma(w0, a6);
                v = FloatVector.broadcast(S, in[o + 13]);
                a6 = v.fma(w1, a6);
                v = FloatVector.broadcast(S, in[o + 14]);
                a6 = v.fma(w2, a6);
                a7 = v.fma(w0, a7);
                v = FloatVector.broadcast(S, in[o + 15]);
                a7 = v.fma(w1, a7);
                v = FloatVector.broadcast(S, in[o + 16]);
                a7 = v.fma(w2, a7);
            }
        }
        // the activation written out, not called: C2 stops inlining in a method this big, and a vector crossing a call is boxed
        float scale = f.scale(), shift = f.shift(), lo = f.lo(), hi = f.hi();
        boolean times = f.timesInput();
        FloatVector g0 = a0.fma(scale, shift).max(lo).min(hi);
        (times ? a0.mul(g0) : g0).intoArray(c, c0);
        FloatVector g1 = a1.fma(scale, shift).max(lo).min(hi);
        (times ? a1.mul(g1) : g1).intoArray(c, c0 + ldc);
        FloatVector g2 = a2.fma(scale, shift).max(lo).min(hi);
        (times ? a2.mul(g2) : g2).intoArray(c, c0 + 2 * ldc);
        FloatVector g3 = a3.fma(scale, shift).max(lo).min(hi);
        (times ? a3.mul(g3) : g3).intoArray(c, c0 + 3 * ldc);
        FloatVector g4 = a4.fma(scale, shift).max(lo).min(hi);
        (times ? a4.mul(g4) : g4).intoArray(c, c0 + 4 * ldc);
        FloatVector g5 = a5.fma(scale, shift).max(lo).min(hi);
        (times ? a5.mul(g5) : g5).intoArray(c, c0 + 5 * ldc);
        FloatVector g6 = a6.fma(scale, shift).max(lo).min(hi);
        (times ? a6.mul(g6) : g6).intoArray(c, c0 + 6 * ldc);
        FloatVector g7 = a7.fma(scale, shift).max(lo).min(hi);
        (times ? a7.mul(g7) : g7).intoArray(c, c0 + 7 * ldc);
    }

    /** Pixel ox's patch in (kx, ky, ci) order, zeros where a tap falls in the padding. */
    static void edgePatch(DepthwiseGeometry g, float[] in, int inOff, int oy, int ox, float[] patch) {
        int k = g.kernel(), cin = g.channels(), w = g.width(), plane = g.height() * w, i = 0;
        for (int kx = 0; kx < k; kx++) {
            int ix = ox * g.stride() - g.pad() + kx;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * g.stride() - g.pad() + ky;
                boolean inside = ix >= 0 && ix < w && iy >= 0 && iy < g.height();
                for (int ci = 0; ci < cin; ci++) patch[i++] = inside ? in[inOff + ci * plane + iy * w + ix] : 0f;
            }
        }
    }
}
