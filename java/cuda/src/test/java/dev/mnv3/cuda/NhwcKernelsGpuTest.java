package dev.mnv3.cuda;

import static dev.mnv3.cuda.KernelsGpuTest.assertClose;
import static dev.mnv3.cuda.KernelsGpuTest.random;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.LaunchGeometry;
import dev.mnv3.cuda.plan.Layouts;
import dev.mnv3.cuda.plan.StorageType;

/**
 * Every FP16/BF16 NHWC kernel (the _f16/_bf16 entries of native/*.cu) alone on the GPU against
 * {@link NhwcOps} on odd sizes, channel counts that take both the 8-wide and the 1-wide kernels,
 * outputs poisoned with NaN and a guard zone behind them. A 16-bit output is compared with the
 * reference rounded once to the storage type (the GPU's float summation order may move a value
 * across a rounding boundary, so a few values may differ by one unit of the last place).
 */
@Tag("gpu")
class NhwcKernelsGpuTest {
    private static double tolerance(StorageType s) {
        return s == StorageType.F16 ? 1e-3 : 8e-3;
    }

    private static float[] rounded(StorageType s, float[] a) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) r[i] = s.round(a[i]);
        return r;
    }

    @ParameterizedTest(name = "{0} {1} channels")
    @CsvSource({"F16, 3", "BF16, 3", "F16, 16"})
    void inputToNhwcPadsChannelsWithZeros(StorageType s, int c) {
        int n = 2, plane = 37, padded = 8 * ((c + 7) / 8), total = n * plane * padded;
        float[] x = random(n * c * plane, 1);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(s, total);
            d.runtime.kernels.toNhwc(d.args, d.stream, s, d.upload(x), dy, c, padded, plane, total);
            assertClose(d.download(s, dy, total), rounded(s, NhwcOps.toNhwc(x, n, c, padded, plane)), tolerance(s), "toNhwc");
            assertTrue(d.guardIntact(s, dy, total));
        }
    }

    @ParameterizedTest(name = "{0} -> {1} channels {2}")
    @CsvSource({"F16, 16, HARDSWISH", "BF16, 16, HARDSWISH", "F16, 13, RELU"})
    void stemFromTheFloatInput(StorageType s, int outC, Activation act) {
        int n = 2, inC = 3, h = 23, w = 17, k = 3, stride = 2, pad = 1, oh = (h + 1) / 2, ow = (w + 1) / 2;
        int total = n * oh * ow * outC;
        float[] x = random(n * inC * h * w, 2), wt = random(outC * inC * k * k, 3), bias = random(outC, 4);
        // the reference: NHWC input and [out, k, k, in] filters, as cuDNN would see them
        float[] want = NhwcOps.biasAct(NhwcOps.conv(NhwcOps.toNhwc(x, n, inC, inC, h * w), n, inC, h, w,
                Layouts.channelsLast(wt, outC, inC, inC, k * k), outC, k, stride, pad, 1, 1), bias, null, outC, act);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(s, total);
            d.runtime.kernels.stem(d.args, d.stream, s, d.upload(x), d.upload(wt), d.upload(bias), dy, n, inC, h, w, outC, oh,
                    ow, k, stride, pad, 1, act);
            assertClose(d.download(s, dy, total), rounded(s, want), tolerance(s), "stem");
            assertTrue(d.guardIntact(s, dy, total));
        }
    }

    @ParameterizedTest(name = "{0} {1} channels {2} residual {3} float out {4}")
    @CsvSource({"F16, 24, HARDSWISH, true, false", "BF16, 24, RELU, false, false", "F16, 13, HARDSIGMOID, true, false",
            "F16, 40, IDENTITY, false, true", "BF16, 7, HARDSWISH, false, true"})
    void biasActivationResidual(StorageType s, int c, Activation act, boolean residual, boolean floatOut) {
        int elements = 3 * 29 * c;
        float[] x = rounded(s, random(elements, 5)), bias = random(c, 6), res = rounded(s, random(elements, 7));
        float[] want = NhwcOps.biasAct(x, bias, residual ? res : null, c, act);
        try (DeviceArrays d = new DeviceArrays()) {
            long dx = d.upload(s, x), dres = residual ? d.upload(s, res) : 0;
            long out = floatOut ? d.poisoned(elements) : dx; // 16-bit: in place, as the plans run it
            d.runtime.kernels.biasActNhwc(d.args, d.stream, s, dx, out, d.upload(bias), dres, c, elements, act, floatOut);
            if (floatOut) {
                assertClose(d.download(out, elements), want, 1e-6, "bias+act to float");
                assertTrue(d.guardIntact(out, elements));
            } else {
                assertClose(d.download(s, out, elements), rounded(s, want), tolerance(s), "bias+act");
                assertTrue(d.guardIntact(s, out, elements));
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} channels k{2} stride {3} dilation {4} SE sums {5}")
    @CsvSource({"F16, 24, 3, 1, 1, false", "BF16, 24, 5, 2, 1, true", "F16, 40, 5, 1, 2, true", "F16, 13, 3, 2, 1, true",
            "BF16, 16, 7, 1, 1, false", "F16, 72, 3, 2, 1, true"})
    void depthwiseWithTheSqueezeSums(StorageType s, int c, int k, int stride, int dilation, boolean partialSums) {
        int n = 2, h = 19, w = 14, pad = (k - 1) / 2 * dilation;
        int oh = (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1, ow = (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        int total = n * oh * ow * c;
        float[] x = rounded(s, random(n * h * w * c, 8)), wt = random(k * k * c, 9), bias = random(c, 10);
        Activation act = Activation.HARDSWISH;
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(s, total);
            LaunchGeometry.Launch l = LaunchGeometry.depthwiseNhwc(ForwardPlan.channelGroups(c), (long) oh * ow, n,
                    d.runtime.kernels.multiprocessors());
            int chunks = l.gridY();
            long dp = partialSums ? d.poisoned(n * chunks * c) : 0;
            d.runtime.kernels.depthwiseNhwc(d.args, d.stream, s, d.upload(s, x), d.upload(wt), d.upload(bias), dy, dp, n, c, h,
                    w, oh, ow, k, stride, pad, dilation, act);
            float[] partial = new float[n * chunks * c];
            float[] want = NhwcOps.depthwise(x, n, c, h, w, wt, bias, k, stride, pad, dilation, act, s, partial, chunks,
                    l.blockY());
            assertClose(d.download(s, dy, total), want, tolerance(s), "depthwise");
            assertTrue(d.guardIntact(s, dy, total));
            if (partialSums) {
                assertClose(d.download(dp, partial.length), partial, 1e-5, "SE partial sums");
                assertTrue(d.guardIntact(dp, partial.length));
            }
        }
    }

    @ParameterizedTest(name = "{0} channels squeezed to {1}")
    @CsvSource({"72, 24", "960, 240", "13, 8"})
    void squeezeExcitationFullyConnected(int c, int squeeze) {
        int n = 3, chunks = 5, pixels = 49;
        float[] partial = random(n * chunks * c, 11), w1 = random(squeeze * c, 12), b1 = random(squeeze, 13);
        float[] w2 = random(c * squeeze, 14), b2 = random(c, 15);
        try (DeviceArrays d = new DeviceArrays()) {
            long scale = d.poisoned(n * c);
            d.runtime.kernels.seFc(d.args, d.stream, d.upload(partial), chunks, pixels, d.upload(w1), d.upload(b1), d.upload(w2),
                    d.upload(b2), scale, n, c, squeeze);
            assertClose(d.download(scale, n * c), NhwcOps.seFc(partial, n, chunks, pixels, w1, b1, w2, b2, c, squeeze), 1e-5,
                    "SE FCs");
            assertTrue(d.guardIntact(scale, n * c));
        }
    }

    @ParameterizedTest(name = "{0} {1} channels")
    @CsvSource({"F16, 24", "BF16, 13"})
    void channelScale(StorageType s, int c) {
        int n = 2, plane = 31, elements = n * plane * c;
        float[] x = rounded(s, random(elements, 16)), scale = random(n * c, 17);
        try (DeviceArrays d = new DeviceArrays()) {
            long dx = d.upload(s, x);
            d.runtime.kernels.channelScaleNhwc(d.args, d.stream, s, dx, d.upload(scale), c, plane, elements);
            assertClose(d.download(s, dx, elements), rounded(s, NhwcOps.channelScale(x, scale, c, plane)), tolerance(s),
                    "channel scale");
            assertTrue(d.guardIntact(s, dx, elements));
        }
    }

    @ParameterizedTest(name = "{0} {1} channels float out {2}")
    @CsvSource({"F16, 960, false", "BF16, 13, false", "F16, 576, true", "BF16, 7, true"})
    void globalAveragePool(StorageType s, int c, boolean floatOut) {
        int n = 3, plane = 49;
        float[] x = rounded(s, random(n * plane * c, 18));
        float[] want = NhwcOps.pool(x, n, c, plane);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = floatOut ? d.poisoned(n * c) : d.poisoned(s, n * c);
            d.runtime.kernels.globalAvgPoolNhwc(d.args, d.stream, s, d.upload(s, x), dy, n, c, plane, floatOut);
            if (floatOut) {
                assertClose(d.download(dy, n * c), want, 1e-6, "pool to float");
            } else {
                assertClose(d.download(s, dy, n * c), rounded(s, want), tolerance(s), "pool");
            }
        }
    }

    @ParameterizedTest(name = "{0} m {1} k {2} n {3} residual {4} SE scale {5}")
    @CsvSource({"F16, 200, 72, 24, false, false", "BF16, 130, 24, 72, true, false", "F16, 98, 40, 40, true, true",
            "F16, 64, 13, 21, false, true", "BF16, 333, 960, 160, true, true"})
    void pointwiseWithItsEpilogue(StorageType s, int m, int k, int n, boolean residual, boolean scaled) {
        int rowsPerImage = 49, images = (m + rowsPerImage - 1) / rowsPerImage;
        float[] x = rounded(s, random(m * k, 19)), wt = rounded(s, random(n * k, 20)), bias = random(n, 21);
        float[] res = rounded(s, random(m * n, 22)), scale = random(images * k, 23);
        float[] xs = x.clone();
        if (scaled) { // the kernel rounds the scaled input to T, as the excitation would have stored it
            for (int r = 0; r < m; r++) {
                for (int i = 0; i < k; i++) xs[r * k + i] = s.round(x[r * k + i] * scale[(r / rowsPerImage) * k + i]);
            }
        }
        float[] want = NhwcOps.biasAct(NhwcOps.conv(xs, 1, k, m, 1, wt, n, 1, 1, 0, 1, 1), bias, residual ? res : null, n,
                Activation.HARDSWISH);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(s, m * n);
            d.runtime.kernels.pointwise(d.args, d.stream, s, d.upload(s, x), d.upload(s, wt), d.upload(bias),
                    residual ? d.upload(s, res) : 0, scaled ? d.upload(scale) : 0, rowsPerImage, dy, m, k, n,
                    Activation.HARDSWISH);
            assertClose(d.download(s, dy, m * n), rounded(s, want), tolerance(s), "pointwise " + Arrays.toString(new int[] {m, k, n}));
            assertTrue(d.guardIntact(s, dy, m * n));
        }
    }
}
