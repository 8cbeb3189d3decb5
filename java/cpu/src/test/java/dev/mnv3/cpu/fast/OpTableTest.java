package dev.mnv3.cpu.fast;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.backend.SeWeights;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.ReferenceOpsForTests;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fast backend's op table, in the spirit of ggml's test-backend-ops: every op the fast CPU
 * backend runs x every kernel set this JVM has x shapes where tiles and tails meet, each op
 * driven the way {@link FastModel} drives it, on weights prepared by {@link PreparedLayers} from random
 * He-scaled weights with non-identity BatchNorm, and compared with the reference backend's own
 * op by relative L2. Each test's name says op [shape] on kernels.
 *
 * <p>Kernel sets: {@link CpuKernels#best()} (the vector kernels at the width this JVM prefers, or
 * the one forced with -Dmnv3.cpu.vectorBits) and the plain loops. The build runs this class again
 * in one JVM per width, 128, 256 and 512 bits (the width is fixed per JVM; see the module's pom),
 * where the plain loops are left out. {@link CpuKernelsTest} checks the kernels' edges (row and
 * column ranges, writes outside them); this table checks the ops built on them. The CUDA kernels'
 * side of the table is java/cuda's CudaOpTableTest: it runs {@link #ops()}, and the ops only the
 * CUDA backend has, on the kernels compiled for the CPU emulation at FP32, TF32, FP16 and BF16 (on a
 * GPU, KernelsGpuTest and NhwcKernelsGpuTest check the kernels). Hence the public parts here: the
 * case records, their list, {@link #weights} and {@link #EPS}.
 */
public class OpTableTest {
    /**
     * FP32 kernels against double accumulation: each output is a sum of at most a few hundred
     * products, whose float rounding errors add up to about sqrt(K) * 2^-24 (1e-6 at K = 576)
     * relative to the output's scale; 1e-5 leaves room for the order of summation and an ulp in
     * the activations, and is the per-node tolerance of the whole project.
     */
    private static final double TOLERANCE = 1e-5;
    /** A guard input (the case's input plus 5% noise) must move the output by this much at least. */
    private static final double GUARD = 100 * TOLERANCE;
    /** torchvision's BatchNorm epsilon for MobileNetV3. */
    public static final double EPS = 1e-3;

    /** One op at one shape: its input, the reference backend's answer, and the fast kernels' answer, all NCHW. */
    public interface Op {
        Tensor input(SplittableRandom rnd);

        Tensor reference(Tensor x);

        Tensor fast(CpuKernels kernels, Tensor x);
    }

    /** An op that is one convolution: the reference backend's conv, with the BatchNorm folded in. */
    interface ConvOp extends Op {
        ConvBnAct conv();

        int h();

        int w();

        @Override
        default Tensor input(SplittableRandom rnd) {
            return random(rnd, 1, conv().inChannels(), h(), w());
        }

        @Override
        default Tensor reference(Tensor x) {
            return ReferenceOpsForTests.conv(x, FoldedConv.fold(conv(), weights(conv().parameters()), EPS));
        }
    }

    static Stream<Arguments> table() {
        List<CpuKernels> sets = new ArrayList<>(List.of(CpuKernels.best()));
        if (System.getProperty(VectorSupport.BITS_PROPERTY) == null && sets.get(0).vectorBits() > 0) {
            sets.add(new ScalarKernels("op table"));
        }
        List<Arguments> rows = new ArrayList<>();
        for (Named<Op> op : ops()) {
            for (CpuKernels k : sets) {
                String impl = k.vectorBits() > 0 ? "vector-" + k.vectorBits() : "scalar";
                rows.add(Arguments.of(Named.of(op.getName() + " on " + impl, op.getPayload()), k));
            }
        }
        return rows.stream();
    }

    /**
     * Shapes: pixel counts that are and are not multiples of the 6- and 12-row tiles, channel
     * counts of one, two and a half vectors (40 = 2 x 16 + 8 at 512 bits), odd widths, a squeeze
     * and a class count that are not multiples of 8, a 7x7 window. Feature maps always have a
     * multiple of 8 channels ({@code Graph} rounds every config's counts with make_divisible).
     * java/cuda's CudaOpTableTest runs the same list on the CUDA kernels.
     */
    public static List<Named<Op>> ops() {
        List<Named<Op>> ops = new ArrayList<>();
        Activation[] acts = Activation.values();
        int[][] pointwise = {{16, 24, 7, 7}, {24, 72, 1, 1}, {40, 40, 5, 3}, {96, 576, 7, 7}, {72, 8, 13, 1}, {16, 40, 2, 9}};
        for (int i = 0; i < pointwise.length; i++) {
            int[] s = pointwise[i];
            Activation act = acts[i % acts.length];
            ops.add(named(new Pointwise(s[0], s[1], s[2], s[3], act, false)));
            if (s[0] == s[1]) ops.add(named(new Pointwise(s[0], s[1], s[2], s[3], act, true)));
        }
        ops.add(named(new Pointwise(24, 24, 3, 5, Activation.IDENTITY, true))); // the projection's residual
        int[][] depthwise = {{16, 7, 7}, {40, 9, 5}, {72, 14, 14}, {24, 17, 3}, {8, 5, 5}};
        int n = 0;
        for (int[] s : depthwise) {
            for (int kernel : new int[] {3, 5}) {
                for (int stride : new int[] {1, 2}) {
                    ops.add(named(new Depthwise(s[0], s[1], s[2], kernel, stride, 1, acts[n++ % acts.length])));
                }
            }
        }
        ops.add(named(new Depthwise(40, 9, 9, 3, 1, 2, Activation.HARDSWISH))); // dilated, as the segmentation heads run it
        ops.add(named(new Depthwise(16, 9, 8, 7, 1, 1, Activation.HARDSWISH)));
        ops.add(named(new Stem(3, 16, 3, 2, 17, 13, Activation.HARDSWISH)));
        ops.add(named(new Stem(3, 16, 3, 2, 32, 32, Activation.HARDSWISH)));
        ops.add(named(new Stem(3, 24, 3, 1, 5, 7, Activation.RELU)));
        ops.add(named(new SqueezeExciteScale(72, 24, 7, 5)));
        ops.add(named(new SqueezeExciteScale(40, 18, 3, 3)));
        ops.add(named(new SqueezeExciteScale(16, 8, 1, 1)));
        ops.add(named(new SqueezeExciteFolded(96, 24, 40, 3, 3)));
        ops.add(named(new SqueezeExciteFolded(72, 18, 24, 2, 2)));
        ops.add(named(new AveragePool(576, 7, 7)));
        ops.add(named(new AveragePool(40, 3, 5)));
        ops.add(named(new Dense(576, 1024, 1, Activation.HARDSWISH)));
        ops.add(named(new Dense(1024, 1000, 3, Activation.IDENTITY)));
        ops.add(named(new Dense(40, 13, 7, Activation.IDENTITY)));
        ops.add(named(new Dense(27, 37, 13, Activation.RELU)));
        return ops;
    }

    private static Named<Op> named(Op op) {
        return Named.of(op.toString(), op);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void matchesTheReferenceBackend(Op op, CpuKernels kernels) {
        SplittableRandom rnd = new SplittableRandom(op.toString().hashCode());
        Tensor x = op.input(rnd);
        Tensor want = op.reference(x);
        Tensor got = op.fast(kernels, x);
        double norm = norm(want);
        assertTrue(norm > 1e-3, op + ": the reference output is all but zero, the comparison would prove nothing");
        double rel = relL2(got, want);
        assertTrue(rel <= TOLERANCE, op + " on " + kernels.describe() + ": relative L2 " + rel + " > " + TOLERANCE);

        Tensor moved = new Tensor(x.shape(), x.data().clone());
        float[] m = moved.data();
        for (int i = 0; i < m.length; i++) m[i] += (float) (0.05 * rnd.nextGaussian());
        double guard = relL2(op.fast(kernels, moved), want);
        assertTrue(guard > GUARD, op + ": a perturbed input moved the output by only " + guard
                + ", so the comparison could not fail");
    }

    /** A 1x1 convolution (+ BatchNorm, activation and an optional residual) as a GEMM over all pixels. */
    public record Pointwise(int cin, int cout, int h, int w, Activation act, boolean residual) implements ConvOp {
        @Override
        public ConvBnAct conv() {
            return ConvBnAct.pointwise("pw", cin, cout, act);
        }

        @Override
        public Tensor reference(Tensor x) {
            Tensor y = ConvOp.super.reference(x);
            if (residual) ReferenceOpsForTests.addInPlace(y, x);
            return y;
        }

        @Override
        public Tensor fast(CpuKernels k, Tensor x) {
            PackedWeights wt = PreparedLayers.Pointwise.of(conv(), weights(conv().parameters()), EPS, k).weight();
            float[] a = toNhwc(x), out = new float[h * w * wt.paddedN];
            k.pointwise(a, 0, cin, wt.data, wt.paddedN, wt.bias, act, residual ? a : null, 0, out, 0, 0, h * w,
                    new float[k.scratchFloats()]);
            return fromNhwc(out, wt.paddedN, cout, h, w);
        }

        @Override
        public String toString() {
            return "pointwise" + (residual ? "+residual" : "") + " [" + cin + ">" + cout + " " + h + "x" + w + " " + act + "]";
        }
    }

    /** A depthwise convolution + BatchNorm + activation, one padded output row at a time. */
    public record Depthwise(int c, int h, int w, int kernel, int stride, int dilation, Activation act) implements ConvOp {
        @Override
        public ConvBnAct conv() {
            return new ConvBnAct("dw", c, c, kernel, stride, dilation, c, act);
        }

        @Override
        public Tensor fast(CpuKernels k, Tensor x) {
            PreparedLayers.Depthwise dw = PreparedLayers.Depthwise.of(conv(), weights(conv().parameters()), EPS);
            DepthwiseGeometry g = DepthwiseGeometry.of(conv(), h, w);
            int pad = g.pad(), paddedRow = (w + 2 * pad) * c, outRow = g.outWidth() * c;
            float[] in = toNhwc(x), padded = new float[(h + 2 * pad) * paddedRow], out = new float[g.outHeight() * outRow];
            for (int y = 0; y < h; y++) System.arraycopy(in, y * w * c, padded, (y + pad) * paddedRow + pad * c, w * c);
            int[] rows = new int[kernel];
            for (int oy = 0; oy < g.outHeight(); oy++) {
                for (int ky = 0; ky < kernel; ky++) rows[ky] = (oy * stride + ky * dilation) * paddedRow;
                k.depthwisePaddedRow(g, padded, rows, dw.weight(), dw.bias(), act, out, oy * outRow);
            }
            return fromNhwc(out, c, c, g.outHeight(), g.outWidth());
        }

        @Override
        public String toString() {
            return "depthwise [" + kernel + "x" + kernel + " s" + stride + (dilation > 1 ? " d" + dilation : "") + " " + c + "ch "
                    + h + "x" + w + " " + act + "]";
        }
    }

    /** The dense stem on the NCHW image: one output row at a time, a GEMM over the interleaved patch row. */
    public record Stem(int cin, int cout, int kernel, int stride, int h, int w, Activation act) implements ConvOp {
        @Override
        public ConvBnAct conv() {
            return new ConvBnAct("stem", cin, cout, kernel, stride, 1, 1, act);
        }

        @Override
        public Tensor fast(CpuKernels k, Tensor x) {
            PreparedLayers.Stem s = PreparedLayers.Stem.of(conv(), weights(conv().parameters()), EPS, k);
            DepthwiseGeometry g = DepthwiseGeometry.of(conv(), h, w);
            PackedWeights wt = s.weight();
            int n = wt.paddedN, ow = g.outWidth();
            float[] row = new float[PreparedLayers.Stem.rowFloats(g)], out = new float[g.outHeight() * ow * n];
            float[] tile = new float[k.scratchFloats()];
            for (int oy = 0; oy < g.outHeight(); oy++) {
                PreparedLayers.Stem.patchRow(g, x.data(), 0, oy, row);
                k.gemm(row, 0, PreparedLayers.Stem.pixelStride(g), wt.k, wt.data, n, wt.bias, act, null, 0, out, oy * ow * n, 0, ow,
                        0, n, tile);
            }
            return fromNhwc(out, n, cout, g.outHeight(), ow);
        }

        @Override
        public String toString() {
            return "stem [" + kernel + "x" + kernel + " s" + stride + " " + cin + ">" + cout + " " + h + "x" + w + " " + act + "]";
        }
    }

    /** Squeeze-excitation: channel means, the two FCs as one-row GEMMs, the map scaled in place. */
    public record SqueezeExciteScale(int c, int sq, int h, int w) implements Op {
        public SqueezeExcite se() {
            return new SqueezeExcite("se", c, sq);
        }

        @Override
        public Tensor input(SplittableRandom rnd) {
            return random(rnd, 1, c, h, w);
        }

        @Override
        public Tensor reference(Tensor x) {
            Tensor y = new Tensor(x.shape(), x.data().clone());
            SqueezeExcite se = se();
            SeWeights sw = SeWeights.of(se, weights(se.parameters()));
            ReferenceOpsForTests.squeezeExcite(y, sw.fc1Weight(), sw.fc1Bias(), sw.fc2Weight(), sw.fc2Bias());
            return y;
        }

        @Override
        public Tensor fast(CpuKernels k, Tensor x) {
            float[] map = toNhwc(x);
            k.scaleChannels(map, 0, h * w, c, scales(k, c, sq, map, h * w), 0);
            return fromNhwc(map, c, c, h, w);
        }

        @Override
        public String toString() {
            return "se-scale [" + c + ">" + sq + " " + h + "x" + w + "]";
        }
    }

    /** Squeeze-excitation folded into the next 1x1 convolution: the scale multiplies the projection's packed weights. */
    public record SqueezeExciteFolded(int c, int sq, int cout, int h, int w) implements Op {
        public ConvBnAct projection() {
            return ConvBnAct.pointwise("project", c, cout, Activation.IDENTITY);
        }

        @Override
        public Tensor input(SplittableRandom rnd) {
            return random(rnd, 1, c, h, w);
        }

        @Override
        public Tensor reference(Tensor x) {
            Tensor scaled = new SqueezeExciteScale(c, sq, h, w).reference(x);
            return ReferenceOpsForTests.conv(scaled, FoldedConv.fold(projection(), weights(projection().parameters()), EPS));
        }

        @Override
        public Tensor fast(CpuKernels k, Tensor x) {
            float[] map = toNhwc(x), s = scales(k, c, sq, map, h * w);
            PackedWeights p = PreparedLayers.Pointwise.of(projection(), weights(projection().parameters()), EPS, k).weight();
            float[] folded = new float[p.floats()], out = new float[h * w * p.paddedN];
            p.scaledInto(s, folded, 0, p.paddedN);
            k.pointwise(map, 0, c, folded, p.paddedN, p.bias, Activation.IDENTITY, null, 0, out, 0, 0, h * w,
                    new float[k.scratchFloats()]);
            return fromNhwc(out, p.paddedN, cout, h, w);
        }

        @Override
        public String toString() {
            return "se-folded-projection [" + c + ">" + sq + ">" + c + ", " + c + ">" + cout + " " + h + "x" + w + "]";
        }
    }

    /** The SE channel scales of one NHWC map, as BottleneckRunner computes them: means, fc1 + ReLU, fc2 + h-sigmoid. */
    static float[] scales(CpuKernels k, int c, int sq, float[] map, int pixels) {
        SqueezeExcite se = new SqueezeExcite("se", c, sq);
        PreparedLayers.Se packed = PreparedLayers.Se.of(se, weights(se.parameters()), k);
        float[] sums = new float[c], squeezed = new float[packed.fc1().paddedN], scales = new float[packed.fc2().paddedN];
        float[] tile = new float[k.scratchFloats()];
        k.channelSums(map, 0, pixels, c, sums);
        for (int i = 0; i < c; i++) sums[i] /= pixels;
        k.pointwise(sums, 0, c, packed.fc1().data, packed.fc1().paddedN, packed.fc1().bias, Activation.RELU, null, 0, squeezed, 0, 0, 1,
                tile);
        k.pointwise(squeezed, 0, sq, packed.fc2().data, packed.fc2().paddedN, packed.fc2().bias, Activation.HARDSIGMOID, null, 0,
                scales, 0, 0, 1, tile);
        return scales;
    }

    /** Global average pooling: channel sums over the map, divided by its pixels. */
    public record AveragePool(int c, int h, int w) implements Op {
        @Override
        public Tensor input(SplittableRandom rnd) {
            return random(rnd, 1, c, h, w);
        }

        @Override
        public Tensor reference(Tensor x) {
            return ReferenceOpsForTests.globalAvgPool(x);
        }

        @Override
        public Tensor fast(CpuKernels k, Tensor x) {
            float[] sums = new float[c];
            k.channelSums(toNhwc(x), 0, h * w, c, sums);
            for (int i = 0; i < c; i++) sums[i] /= h * w;
            return new Tensor(new int[] {1, c, 1, 1}, sums);
        }

        @Override
        public String toString() {
            return "avgpool [" + c + "ch " + h + "x" + w + "]";
        }
    }

    /** A classifier layer for a batch: one [batch, in] x [in, out] GEMM (a single row at batch 1). */
    public record Dense(int in, int out, int batch, Activation act) implements Op {
        public Linear linear() {
            return new Linear("fc", in, out, act);
        }

        @Override
        public Tensor input(SplittableRandom rnd) {
            return random(rnd, batch, in);
        }

        @Override
        public Tensor reference(Tensor x) {
            Weights w = weights(linear().parameters());
            return ReferenceOpsForTests.linear(x, w.data("fc.weight"), w.data("fc.bias"), act);
        }

        @Override
        public Tensor fast(CpuKernels k, Tensor x) {
            PackedWeights wt = PreparedLayers.Dense.of(linear(), weights(linear().parameters()), k).weight();
            float[] padded = new float[batch * wt.paddedN], y = new float[batch * out];
            k.gemm(x.data(), 0, in, in, wt.data, wt.paddedN, wt.bias, act, null, 0, padded, 0, 0, batch, 0, wt.paddedN,
                    new float[k.scratchFloats()]);
            for (int b = 0; b < batch; b++) System.arraycopy(padded, b * wt.paddedN, y, b * out, out);
            return new Tensor(new int[] {batch, out}, y);
        }

        @Override
        public String toString() {
            return "linear [" + in + ">" + out + " batch " + batch + " " + act + "]";
        }
    }

    /** He-scaled weights with BatchNorm statistics far from identity, the same for every kernel set. */
    public static Weights weights(List<ParamSpec> parameters) {
        return RandomWeights.generate(parameters, 18);
    }

    private static Tensor random(SplittableRandom rnd, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) rnd.nextGaussian();
        return t;
    }

    /** [1][C][H][W] to [H][W][C]. */
    private static float[] toNhwc(Tensor x) {
        int c = x.dim(1), hw = x.dim(2) * x.dim(3);
        float[] src = x.data(), dst = new float[c * hw];
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++) dst[p * c + ch] = src[ch * hw + p];
        return dst;
    }

    /** The first {@code c} of {@code stride} channels of each pixel of an NHWC map, as [1][C][H][W]. */
    private static Tensor fromNhwc(float[] src, int stride, int c, int h, int w) {
        Tensor y = Tensor.zeros(1, c, h, w);
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < h * w; p++) y.data()[ch * h * w + p] = src[p * stride + ch];
        return y;
    }

    private static double norm(Tensor t) {
        double s = 0;
        for (float v : t.data()) s += (double) v * v;
        return Math.sqrt(s);
    }

    private static double relL2(Tensor got, Tensor want) {
        float[] g = got.data(), w = want.data();
        if (g.length != w.length) throw new AssertionError("sizes differ: " + g.length + " and " + w.length);
        double err = 0;
        for (int i = 0; i < g.length; i++) err += ((double) g[i] - w[i]) * ((double) g[i] - w[i]);
        return Math.sqrt(err) / norm(want);
    }
}
