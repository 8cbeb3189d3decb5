package dev.mnv3.cpu.fast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.mnv3.core.Activation;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both kernel sets against plain double-precision loops, over the shapes where tiles and tails
 * meet: every row count around the tile heights, channel counts that are and are not multiples
 * of the vector, column ranges that start inside a matrix. Outputs are surrounded by NaN
 * sentinels, so a kernel that writes one float outside its rows or columns fails. The build runs
 * this class at every vector width (see the module's pom).
 */
class CpuKernelsTest {
    private static final double TOLERANCE = 1e-6;

    static List<CpuKernels> kernels() {
        // plain loops also read the vector kernels' panels (32 columns, a last one rounded up to 16: the widest layout)
        return List.of(CpuKernels.best(), new ScalarKernels("test"), new ScalarKernels("vector layout", 32, 16));
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void gemmMatchesPlainLoopsForEveryTileAndTail(CpuKernels kr) {
        SplittableRandom rnd = new SplittableRandom(3);
        int cases = 0;
        double norm = 0;
        for (int m : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 18, 21, 22, 25, 49}) {
            for (int n : new int[] {8, 16, 24, 32, 40, 64, 72, 200}) {
                for (int k : new int[] {3, 16, 27, 72}) {
                    Activation act = Activation.values()[cases % Activation.values().length];
                    boolean residual = cases % 3 == 0;
                    int lda = cases % 4 == 1 && k > 3 ? k - 2 : k; // overlapping rows, as the stem's patches
                    norm += checkGemm(kr, rnd, m, n, k, lda, act, residual);
                    cases++;
                }
            }
        }
        assertTrue(cases > 300 && norm > cases, "the checks compare values");
    }

    /** 16 channels to 16 with A's rows adjacent (the case above overlaps them): Pointwise16x16 at 512 bits. */
    @ParameterizedTest
    @MethodSource("kernels")
    void gemmOfSixteenChannelsToSixteen(CpuKernels kr) {
        SplittableRandom rnd = new SplittableRandom(5);
        int cases = 0;
        for (int m : new int[] {1, 3, 13, 50}) {
            for (Activation act : Activation.values()) checkGemm(kr, rnd, m, 16, 16, 16, act, cases++ % 2 == 0);
        }
    }

    /** Checks one product and returns the squared norm of what it compared. */
    private static double checkGemm(CpuKernels kr, SplittableRandom rnd, int m, int n, int k, int lda, Activation act, boolean residual) {
        float[] w = random(rnd, n * k, 1 / Math.sqrt(k)), bias = random(rnd, n, 0.5);
        PackedWeights b = kr.pack(w, bias, n, k);
        int aOff = 5, cOff = 3;
        float[] a = random(rnd, aOff + (m - 1) * lda + k, 1);
        float[] res = residual ? random(rnd, m * n, 1) : null;
        // a column range that starts at the second panel where there is one: threads split columns so
        int j0 = n > b.panel ? b.panel : 0, m0 = m > 2 ? 1 : 0;
        float[] c = new float[cOff + m * n + 7];
        Arrays.fill(c, Float.NaN);
        kr.gemm(a, aOff, lda, k, b.data, n, b.bias, act, res, 0, c, cOff, m0, m, j0, n, new float[kr.scratchFloats()]);
        double err = 0, norm = 0;
        for (int i = 0; i < c.length; i++) {
            int row = (i - cOff) / n, col = (i - cOff) % n;
            boolean inside = i >= cOff && row >= m0 && row < m && col >= j0;
            if (!inside) {
                if (!Float.isNaN(c[i])) fail(what(kr, m, n, k, act) + ": wrote outside its rows and columns at row " + row + " col " + col);
                continue;
            }
            double s = bias[col];
            for (int p = 0; p < k; p++) s += (double) a[aOff + row * lda + p] * w[col * k + p];
            double want = act.apply((float) s) + (res != null ? res[row * n + col] : 0);
            err += (c[i] - want) * (c[i] - want);
            norm += want * want;
        }
        double rel = Math.sqrt(err / Math.max(norm, 1e-30));
        assertTrue(rel <= TOLERANCE, what(kr, m, n, k, act) + ": rel L2 " + rel);
        return norm;
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void depthwiseRowsMatchPlainLoops(CpuKernels kr) {
        SplittableRandom rnd = new SplittableRandom(4);
        int cases = 0;
        for (int c : new int[] {8, 16, 24, 40, 72}) {
            for (int kernel : new int[] {3, 5}) {
                for (int stride : new int[] {1, 2}) {
                    for (int dilation : new int[] {1, 2}) {
                        for (int width : new int[] {1, 4, 7, 9, 14, 17, 23}) {
                            checkDepthwise(kr, rnd, c, kernel, stride, dilation, width, Activation.values()[cases++ % 4]);
                        }
                    }
                }
            }
        }
    }

    private static void checkDepthwise(CpuKernels kr, SplittableRandom rnd, int c, int kernel, int stride, int dilation, int width,
                                       Activation act) {
        int pad = (kernel - 1) / 2 * dilation, outW = (width + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
        DepthwiseGeometry g = new DepthwiseGeometry(kernel, width, c, kernel, stride, dilation, pad, 1, outW);
        int paddedRow = (width + 2 * pad) * c;
        float[] in = new float[kernel * paddedRow];
        int[] rows = new int[kernel];
        for (int ky = 0; ky < kernel; ky++) {
            // the middle row is top padding: the kernel must skip it; the others are zero-bordered rows in reverse order
            rows[ky] = ky == kernel / 2 ? -1 : (kernel - 1 - ky) * paddedRow;
            if (rows[ky] < 0) continue;
            for (int x = 0; x < width * c; x++) in[rows[ky] + pad * c + x] = (float) rnd.nextGaussian();
        }
        float[] w = random(rnd, kernel * kernel * c, 1.0 / kernel), bias = random(rnd, c, 0.5);
        int outOff = 2;
        float[] out = new float[outOff + outW * c + 5];
        Arrays.fill(out, Float.NaN);
        kr.depthwisePaddedRow(g, in, rows, w, bias, act, out, outOff);
        double err = 0, norm = 0;
        for (int i = 0; i < out.length; i++) {
            if (i < outOff || i >= outOff + outW * c) {
                assertTrue(Float.isNaN(out[i]), "depthwise wrote outside its row at " + i);
                continue;
            }
            int ox = (i - outOff) / c, ch = (i - outOff) % c;
            double s = bias[ch];
            for (int ky = 0; ky < kernel; ky++) {
                if (rows[ky] < 0) continue;
                for (int kx = 0; kx < kernel; kx++) {
                    s += (double) in[rows[ky] + (ox * stride + kx * dilation) * c + ch] * w[(ky * kernel + kx) * c + ch];
                }
            }
            double want = act.apply((float) s);
            err += (out[i] - want) * (out[i] - want);
            norm += want * want;
        }
        double rel = Math.sqrt(err / Math.max(norm, 1e-30));
        assertTrue(rel <= TOLERANCE, kr.describe() + " depthwise c " + c + " k " + kernel + " s " + stride + " d " + dilation
                + " w " + width + " " + act + ": rel L2 " + rel);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void channelSumsAddEveryPixel(CpuKernels kr) {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int c : new int[] {8, 16, 24, 40, 72}) {
            int pixels = 13, off = 3;
            float[] x = random(rnd, off + pixels * c, 1), sums = new float[c + 4];
            Arrays.fill(sums, Float.NaN);
            kr.channelSums(x, off, pixels, c, sums);
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int p = 0; p < pixels; p++) s += x[off + p * c + ch];
                assertEquals(s, sums[ch], 1e-5 * pixels, "channel " + ch + " of " + c);
            }
            for (int ch = c; ch < c + 4; ch++) assertTrue(Float.isNaN(sums[ch]), "wrote past the channels");
            // a range of the channels (threads share one image's), each summed as in the whole map's sums
            for (int from : new int[] {0, 8, c / 2 / 8 * 8}) {
                for (int count = 8; from + count <= c; count += 8) {
                    float[] part = new float[count + 4];
                    Arrays.fill(part, Float.NaN);
                    kr.channelSums(x, off + from, pixels, c, count, part);
                    for (int i = 0; i < count; i++) assertEquals(sums[from + i], part[i], "channel " + (from + i) + " of " + c);
                    for (int i = count; i < count + 4; i++) assertTrue(Float.isNaN(part[i]), "wrote past the range");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void scaleChannelsMultipliesEveryPixelOnce(CpuKernels kr) {
        SplittableRandom rnd = new SplittableRandom(6);
        for (int c : new int[] {8, 16, 24, 40, 72}) {
            int pixels = 5, off = 3, scaleOff = 2;
            float[] x = random(rnd, off + pixels * c + 4, 1), scale = random(rnd, scaleOff + c, 1), before = x.clone();
            kr.scaleChannels(x, off, pixels, c, scale, scaleOff);
            for (int i = 0; i < x.length; i++) {
                int p = (i - off) / c, ch = (i - off) % c;
                boolean inside = i >= off && p < pixels;
                float want = inside ? before[i] * scale[scaleOff + ch] : before[i];
                assertEquals(want, x[i], Math.ulp(want), "element " + i + " of " + c + " channels");
            }
        }
    }

    private static String what(CpuKernels kr, int m, int n, int k, Activation act) {
        return kr.describe() + " gemm " + m + "x" + n + " k " + k + " " + act;
    }

    private static float[] random(SplittableRandom rnd, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * scale);
        return x;
    }
}
