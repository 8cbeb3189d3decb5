package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.tensor.TensorDiff;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every FP32 kernel against {@link CpuOps} on random inputs of odd sizes (cuDNN's convolutions are
 * {@link CudnnConvGpuTest}). Outputs start as NaN, so an element a kernel does not write fails the comparison, and
 * the NaN guard after each output must survive (no writes past the end).
 */
@Tag("gpu")
class KernelsGpuTest {
    static final double TOLERANCE = 1e-6;

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 8 - 4); // spans every activation's kinks
        return a;
    }

    static void assertClose(float[] got, float[] want, double tol, String what) {
        TensorDiff d = TensorDiff.of(got, want);
        assertTrue(d.within(tol), what + ": rel L2 " + d.relL2() + ", max abs " + d.maxAbs());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Activation.class)
    void biasActivationAndResidual(Activation act) {
        int n = 3, c = 37, plane = 13 * 11, total = n * c * plane;
        float[] y = random(total, 1), bias = random(c, 2), res = random(total, 3);
        try (DeviceArrays d = new DeviceArrays()) {
            for (boolean residual : new boolean[] {false, true}) {
                long dy = d.upload(y);
                d.runtime.kernels.biasAct(d.args, d.stream, dy, d.upload(bias), residual ? d.upload(res) : 0, c, plane, total, act);
                float[] want = y.clone();
                CpuOps.biasAct(want, bias, residual ? res : null, c, plane, total, act);
                assertClose(d.download(dy, total), want, TOLERANCE, act + " residual " + residual);
                assertTrue(d.guardIntact(dy, total));
            }
        }
    }

    @ParameterizedTest(name = "k{0} stride {1} dilation {2} {3}")
    @CsvSource({"3, 1, 1, RELU", "3, 2, 1, HARDSWISH", "5, 1, 1, HARDSWISH", "5, 2, 1, RELU", "5, 1, 2, HARDSWISH",
            "3, 1, 2, IDENTITY", "7, 2, 1, HARDSIGMOID", "1, 1, 1, RELU"})
    void depthwise(int k, int stride, int dilation, Activation act) {
        int n = 2, c = 29, h = 17, w = 12, pad = (k - 1) / 2 * dilation;
        int oh = (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1, ow = (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        int total = n * c * oh * ow;
        float[] x = random(n * c * h * w, 4), wt = random(c * k * k, 5), bias = random(c, 6);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(total);
            d.runtime.kernels.depthwise(d.args, d.stream, d.upload(x), d.upload(wt), d.upload(bias), dy, c, h, w, oh, ow, k,
                    stride, pad, dilation, act, total);
            assertClose(d.download(dy, total), CpuOps.depthwise(x, n, c, h, w, wt, bias, k, stride, pad, dilation, act),
                    TOLERANCE, "depthwise");
            assertTrue(d.guardIntact(dy, total));
        }
    }

    @ParameterizedTest(name = "{0} planes of {1}")
    @CsvSource({"111, 143", "5, 1", "3, 1000", "1, 33", "961, 49"})
    void globalAveragePool(int planes, int plane) {
        float[] x = random(planes * plane, 7);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(planes);
            d.runtime.kernels.globalAvgPool(d.args, d.stream, d.upload(x), dy, planes, plane);
            assertClose(d.download(dy, planes), CpuOps.pool(x, planes, plane), TOLERANCE, "pool");
            assertTrue(d.guardIntact(dy, planes));
        }
    }

    @ParameterizedTest(name = "{0}x{1} -> {2} {3}")
    @CsvSource({"3, 123, 77, RELU", "3, 123, 77, HARDSIGMOID", "1, 960, 1280, HARDSWISH", "5, 7, 1, IDENTITY",
            "2, 1280, 1000, IDENTITY"})
    void linear(int n, int in, int out, Activation act) {
        float[] x = random(n * in, 8), w = random(out * in, 9), b = random(out, 10);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(n * out);
            d.runtime.kernels.linear(d.args, d.stream, d.upload(x), d.upload(w), d.upload(b), dy, n, in, out, act);
            assertClose(d.download(dy, n * out), CpuOps.linear(x, w, b, n, in, out, act), 1e-5, "linear");
            assertTrue(d.guardIntact(dy, n * out));
        }
    }

    @Test
    void channelScale() {
        int n = 3, c = 41, plane = 9 * 7, total = n * c * plane;
        float[] x = random(total, 11), s = random(n * c, 12);
        try (DeviceArrays d = new DeviceArrays()) {
            long dx = d.upload(x);
            d.runtime.kernels.channelScale(d.args, d.stream, dx, d.upload(s), plane, total);
            float[] want = x.clone();
            CpuOps.channelScale(want, s, plane, total);
            assertClose(d.download(dx, total), want, TOLERANCE, "channel scale");
            assertTrue(d.guardIntact(dx, total));
        }
    }

    /**
     * The float plans' 1x1 conv with bias, activation, residual and SE scale fused, strict FP32 and
     * on TF32 tensor cores (against the same loops on operands rounded to TF32, to nearest).
     */
    @ParameterizedTest(name = "K {0} N {1} P {2} residual {3} SE scale {4} TF32 {5}")
    @CsvSource({"16, 64, 3136, false, false, false", "72, 24, 196, true, false, false", "960, 160, 49, true, true, false",
            "13, 21, 100, false, true, false", "72, 24, 196, true, true, true", "960, 1280, 1, false, false, true",
            "40, 120, 49, false, true, true"})
    void pointwiseNchw(int k, int n, int pixels, boolean residual, boolean scaled, boolean tf32) {
        int images = 3;
        Activation act = Activation.HARDSWISH;
        float[] x = random(images * k * pixels, 17), w = random(n * k, 18), bias = random(n, 19);
        float[] res = random(images * n * pixels, 20), scale = random(images * k, 21);
        float[] xs = x.clone();
        if (scaled) {
            for (int i = 0; i < xs.length; i++) xs[i] *= scale[i / pixels];
        }
        Tf32 rounding = tf32 ? Tf32.NEAREST : Tf32.OFF;
        float[] want = CpuOps.conv(rounding.round(xs), images, k, pixels, 1, rounding.round(w), n, 1, 1, 0, 1, 1);
        CpuOps.biasAct(want, bias, residual ? res : null, n, pixels, want.length, act);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(want.length);
            d.runtime.kernels.pointwiseNchw(d.args, d.stream, tf32, d.upload(x), d.upload(w), d.upload(bias),
                    residual ? d.upload(res) : 0, scaled ? d.upload(scale) : 0, dy, images, k, n, pixels, act);
            assertClose(d.download(dy, want.length), want, 1e-5, "pointwise NCHW");
            assertTrue(d.guardIntact(dy, want.length));
        }
    }

    /** The float plans' stem: a dense k x k conv + bias + act. */
    @ParameterizedTest(name = "{0} -> {1} k{2} stride {3} dilation {4}")
    @CsvSource({"3, 16, 3, 2, 1", "7, 13, 5, 1, 2", "5, 8, 1, 1, 1"})
    void denseConv(int inC, int outC, int k, int stride, int dilation) {
        int n = 2, h = 29, w = 23, pad = (k - 1) / 2 * dilation;
        int oh = (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1, ow = (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        float[] x = random(n * inC * h * w, 22), wt = random(outC * inC * k * k, 23), bias = random(outC, 24);
        float[] want = CpuOps.conv(x, n, inC, h, w, wt, outC, k, stride, pad, dilation, 1);
        CpuOps.biasAct(want, bias, null, outC, oh * ow, want.length, Activation.HARDSWISH);
        try (DeviceArrays d = new DeviceArrays()) {
            long dy = d.poisoned(want.length);
            d.runtime.kernels.convNchw(d.args, d.stream, d.upload(x), d.upload(wt), d.upload(bias), dy, inC, h, w, outC, oh, ow, k,
                    stride, pad, dilation, Activation.HARDSWISH, want.length);
            assertClose(d.download(dy, want.length), want, TOLERANCE, "dense conv");
            assertTrue(d.guardIntact(dy, want.length));
        }
    }
}
