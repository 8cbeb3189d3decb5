package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The fast path's kernels alone, on the shapes of MobileNetV3-Large at 224x224, one thread:
 * microseconds per call and GMAC/s, the least over many timed repetitions (what other processes
 * on the machine did not inflate). For finding which kernel loses time, not for end-to-end claims.
 * It sits in the cpu module's test sources, beside the package-private kernels it calls. Run, after
 * {@code ./mvnw -q test-compile -pl java/cpu -am}: {@code java --add-modules jdk.incubator.vector -cp
 * java/cpu/target/test-classes:java/cpu/target/classes:java/core/target/classes dev.mnv3.cpu.fast.KernelBench}
 * (-Dmnv3.cpu.vectorBits=256 for another width, -Dmnv3.cpu.gemmRows=4 for the other GEMM tile; the
 * argument {@code gemm} runs the GEMMs and the stem only, {@code dw} the depthwise kernels only).
 */
public final class KernelBench {
    private KernelBench() {
    }

    private interface Body {
        void run();
    }

    public static void main(String[] args) {
        CpuKernels kr = CpuKernels.best();
        System.out.println(kr.describe());
        SplittableRandom rnd = new SplittableRandom(1);
        // 1x1 convs as [M x K] x [K x N]: M pixels (a 112-pixel row when the ring computes it row by row)
        int[][] gemms = {{12544, 16, 16}, {112, 16, 64}, {3136, 64, 24}, {56, 24, 72}, {3136, 72, 24}, {784, 72, 40},
                {784, 120, 40}, {28, 40, 120}, {196, 80, 240}, {196, 240, 80}, {196, 112, 672}, {196, 672, 112},
                {49, 160, 960}, {49, 960, 160}, {1, 960, 1280}, {1, 1280, 1000}, {8, 1280, 1000}, {112, 27, 16},
                // a stack of 4 images' SE FCs, and the classifier at batch 8 and 32
                {4, 960, 240}, {4, 240, 960}, {4, 672, 168}, {8, 960, 1280}, {32, 960, 1280}, {32, 1280, 1000}};
        String only = args.length > 0 ? args[0] : "";
        if (!only.equals("dw")) {
            for (int[] s : gemms) gemm(kr, rnd, s[0], s[1], s[2]);
            stem(kr, rnd);
        }
        if (only.equals("gemm")) return;
        int[][] depthwise = {{112, 16, 3, 1}, {112, 64, 3, 2}, {56, 72, 3, 1}, {56, 72, 5, 2}, {28, 120, 5, 1}, {14, 200, 3, 1},
                {14, 480, 3, 1}, {14, 672, 3, 1}, {14, 672, 5, 1}, {14, 672, 5, 2}, {7, 960, 5, 1}};
        for (int[] s : depthwise) depthwise(kr, rnd, s[0], s[1], s[2], s[3], 0);
        if (args.length > 0 && args[0].equals("align")) {
            for (int off = 0; off < 16; off += 2) depthwise(kr, rnd, 14, 672, 5, 1, off);
        }
    }

    private static void gemm(CpuKernels kr, SplittableRandom rnd, int m, int k, int n) {
        PackedWeights b = kr.pack(random(rnd, n * k), random(rnd, n), n, k);
        float[] a = random(rnd, m * k), c = new float[m * b.paddedN], t = new float[kr.scratchFloats()];
        double us = time(() -> kr.pointwise(a, 0, k, b.data, b.paddedN, b.bias, Activation.HARDSWISH, null, 0, c, 0, 0, m, t));
        report(String.format(Locale.ROOT, "gemm %5d x %4d x %4d", m, k, n), us, (double) m * k * n);
    }

    private static void depthwise(CpuKernels kr, SplittableRandom rnd, int width, int c, int kernel, int stride, int off) {
        int pad = kernel / 2, outW = (width + 2 * pad - kernel) / stride + 1, paddedRow = (width + 2 * pad) * c;
        DepthwiseGeometry g = new DepthwiseGeometry(width, width, c, kernel, stride, 1, pad, width / stride, outW);
        float[] in = random(rnd, off + kernel * paddedRow), w = random(rnd, kernel * kernel * c), bias = random(rnd, c);
        float[] out = new float[off + outW * c];
        int[] rows = new int[kernel];
        for (int ky = 0; ky < kernel; ky++) rows[ky] = off + ky * paddedRow;
        int outRows = width / stride;
        double us = time(() -> {
            for (int r = 0; r < outRows; r++) kr.depthwisePaddedRow(g, in, rows, w, bias, Activation.HARDSWISH, out, off);
        });
        report(String.format(Locale.ROOT, "dw %dx%d s%d, %3d wide x %4d ch +%d", kernel, kernel, stride, width, c, off), us,
                (double) outRows * outW * c * kernel * kernel);
    }

    /** The stem at 224x224: building the 112 interleaved patch rows alone, then with their GEMMs. */
    private static void stem(CpuKernels kr, SplittableRandom rnd) {
        DepthwiseGeometry g = new DepthwiseGeometry(224, 224, 3, 3, 2, 1, 1, 112, 112);
        float[] image = random(rnd, 3 * 224 * 224), row = new float[PreparedLayers.Stem.rowFloats(g)];
        float[] t = new float[kr.scratchFloats()];
        PackedWeights w = kr.pack(random(rnd, 16 * 27), random(rnd, 16), 16, 27);
        float[] out = new float[112 * 112 * 16];
        int lda = PreparedLayers.Stem.pixelStride(g);
        double rows = time(() -> {
            for (int oy = 0; oy < 112; oy++) PreparedLayers.Stem.patchRow(g, image, 0, oy, row);
        });
        report("stem patch rows", rows, 0);
        double all = time(() -> {
            for (int oy = 0; oy < 112; oy++) {
                PreparedLayers.Stem.patchRow(g, image, 0, oy, row);
                kr.gemm(row, 0, lda, 27, w.data, 16, w.bias, Activation.HARDSWISH, null, 0, out, oy * 112 * 16, 0, 112, 0, 16, t);
            }
        });
        report("stem rows + GEMMs", all, 112.0 * 112 * 27 * 16);
    }

    /** Least microseconds per call over 200 timed batches of calls, after warm-up. */
    private static double time(Body body) {
        for (int i = 0; i < 3000; i++) body.run();
        double least = Double.MAX_VALUE;
        for (int rep = 0; rep < 200; rep++) {
            long t = System.nanoTime();
            for (int i = 0; i < 5; i++) body.run();
            least = Math.min(least, (System.nanoTime() - t) / 5e3);
        }
        return least;
    }

    private static void report(String what, double us, double macs) {
        System.out.printf(Locale.ROOT, "%-36s %9.2f us %7.1f GMAC/s%n", what, us, macs / us / 1e3);
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian() * 0.1f;
        return x;
    }
}
